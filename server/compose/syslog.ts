import { readFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import type { LoadedConfig } from '../config/load.ts';
import { SYSLOG_FACILITIES } from '../config/schema.ts';
import { VoicegateError } from '../domain/errors.ts';
import type { ExtraDestination } from '../log.ts';
import { SyslogSink } from '../observe/syslog-sink.ts';

const PINO_LEVELS = { fatal: 60, error: 50, warn: 40, info: 30, debug: 20 } as const;

/**
 * The syslog sink `syslog.target` asks for, as a destination for the process's logger (null
 * when it is off). It is given records from info on (audit records are logged at info) and
 * sends those at its own level and above, and every audit and alarm record. A collector that
 * cannot be reached is said once per outage on stderr: the logger is the thing that failed.
 */
export function openSyslog(
  loaded: LoadedConfig,
  problems: NodeJS.WritableStream = process.stderr,
): { sink: SyslogSink; destination: ExtraDestination } | null {
  const { syslog } = loaded.config;
  if (!syslog.target) return null;
  let ca: Buffer | undefined;
  if (syslog.caFile) {
    const file = isAbsolute(syslog.caFile) ? syslog.caFile : join(loaded.dataDir, syslog.caFile);
    try {
      ca = readFileSync(file);
    } catch (err) {
      throw new VoicegateError(
        'INVALID_INPUT',
        `syslog.caFile: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
      );
    }
  }
  const sink = new SyslogSink({
    target: syslog.target,
    facility: SYSLOG_FACILITIES.indexOf(syslog.facility),
    appName: syslog.appName,
    minLevel: PINO_LEVELS[syslog.level as keyof typeof PINO_LEVELS] ?? 40,
    buffer: syslog.buffer,
    ca,
    onProblem: (message) =>
      problems.write(
        `${JSON.stringify({ level: 40, time: Date.now(), msg: `syslog collector unreachable: ${message}` })}\n`,
      ),
  });
  return {
    sink,
    destination: { level: syslog.level === 'debug' ? 'debug' : 'info', stream: sink },
  };
}
