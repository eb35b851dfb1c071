import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const RSYSLOGD = '/usr/sbin/rsyslogd';

export interface Rsyslog {
  tcpPort: number;
  tlsPort: number;
  /** The test CA that signed the collector's certificate (for localhost and 127.0.0.1). */
  caFile: string;
  /** The lines written so far: `FACILITY APP-NAME MSGID STRUCTURED-DATA MSG` as rsyslog parsed them. */
  lines(): string[];
  /** Resolves with the lines once one matches (rsyslog writes as it receives). */
  waitFor(match: (line: string) => boolean, timeoutMs?: number): Promise<string>;
  stop(): Promise<void>;
}

/**
 * Debian's rsyslog in the foreground, receiving RFC 5424 over TCP (octet counting) and TLS
 * (RFC 5425, a certificate from a test CA) on free loopback ports (port 0, the ports it bound
 * read from its port files), writing each message as it parsed it to a file. Missing, it fails
 * the test (scripts/install-test-tools.sh installs rsyslog and rsyslog-gnutls).
 */
export async function startRsyslog(): Promise<Rsyslog> {
  if (!existsSync(RSYSLOGD))
    throw new Error(`${RSYSLOGD} is missing: run scripts/install-test-tools.sh (rsyslog)`);
  const dir = mkdtempSync(join(tmpdir(), 'voicegate-rsyslog-'));
  const f = (name: string): string => join(dir, name);
  const ssl = (args: string[]): Promise<unknown> => run('openssl', args, { cwd: dir });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  await ssl([
    'req',
    '-x509',
    ...ec,
    '-keyout',
    'ca.key',
    '-out',
    'ca.pem',
    '-days',
    '2',
    '-subj',
    '/CN=Voicegate test CA',
  ]);
  await ssl(['req', ...ec, '-keyout', 'srv.key', '-out', 'srv.csr', '-subj', '/CN=localhost']);
  writeFileSync(f('ext'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\n');
  await ssl([
    'x509',
    '-req',
    '-in',
    'srv.csr',
    '-CA',
    'ca.pem',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-out',
    'srv.pem',
    '-days',
    '2',
    '-extfile',
    'ext',
  ]);
  const out = f('out.log');
  writeFileSync(out, '');
  writeFileSync(
    f('rsyslog.conf'),
    [
      `global(workDirectory="${dir}" defaultNetstreamDriverCAFile="${f('ca.pem')}"`,
      `  defaultNetstreamDriverCertFile="${f('srv.pem')}" defaultNetstreamDriverKeyFile="${f('srv.key')}")`,
      'module(load="imtcp" maxSessions="20")',
      'template(name="fields" type="string" string="%syslogfacility-text% %app-name% %msgid% %structured-data% %msg%\\n")',
      `input(type="imtcp" address="127.0.0.1" port="0" listenPortFileName="${f('tcp.port')}" ruleset="out")`,
      `input(type="imtcp" address="127.0.0.1" port="0" listenPortFileName="${f('tls.port')}" ruleset="out"`,
      '  streamDriver.name="gtls" streamDriver.mode="1" streamDriver.authMode="anon")',
      `ruleset(name="out") { action(type="omfile" file="${out}" template="fields" flushOnTXEnd="on" asyncWriting="off") }`,
      '',
    ].join('\n'),
  );
  const child: ChildProcess = spawn(RSYSLOGD, ['-n', '-f', f('rsyslog.conf'), '-i', f('pid')], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const port = async (name: string): Promise<number> => {
    const deadline = Date.now() + 10_000;
    for (;;) {
      const text = existsSync(f(name)) ? readFileSync(f(name), 'utf8').trim() : '';
      if (text) return Number(text);
      if (child.exitCode !== null || Date.now() > deadline)
        throw new Error(`rsyslogd did not listen (${name}): ${stderr}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  const stop = async (): Promise<void> => {
    if (child.exitCode === null) {
      child.kill('SIGTERM');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const tcpPort = await port('tcp.port');
    const tlsPort = await port('tls.port');
    const lines = (): string[] => readFileSync(out, 'utf8').split('\n').filter(Boolean);
    return {
      tcpPort,
      tlsPort,
      caFile: f('ca.pem'),
      lines,
      async waitFor(match, timeoutMs = 10_000) {
        const deadline = Date.now() + timeoutMs;
        for (;;) {
          const found = lines().find(match);
          if (found) return found;
          if (Date.now() > deadline)
            throw new Error(
              `rsyslog did not write the line; it has: ${lines().join('\n')} ${stderr}`,
            );
          await new Promise((r) => setTimeout(r, 20));
        }
      },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
