import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { BIN } from './cli.ts';

export interface ServeProcess {
  child: ChildProcess;
  url: string;
  ports: { http: number; imap: number; imaps: number; smtp: number; sip: number };
  logs(): string;
  /** SIGTERM, resolved with the exit code once the process has ended. */
  stop(): Promise<number | null>;
}

/**
 * `voicegate serve` as its own process on `configFile`, every port free (0) unless `sets` says;
 * in the network namespace `opts.netns` when given; resolves once it logs that it is serving,
 * with the ports it bound.
 */
export function serveProcess(
  configFile: string,
  sets: string[] = [],
  opts: { netns?: string } = {},
): Promise<ServeProcess> {
  const ports = ['http.port', 'imap.port', 'imap.tlsPort', 'smtp.port', 'sip.port'].flatMap((k) => [
    '--set',
    `${k}=0`,
  ]);
  const extra = sets.flatMap((s) => ['--set', s]);
  const command = [process.execPath, BIN, '--config', configFile, 'serve', ...ports, ...extra];
  // In a network namespace: `ip netns exec` execs the server itself (the child is the server).
  const argv = opts.netns ? ['ip', 'netns', 'exec', opts.netns, ...command] : command;
  const child = spawn(argv[0]!, argv.slice(1), {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, VOICEGATE_CONFIG: undefined },
  });
  let logs = '';
  const exited = once(child, 'exit').then(([code]) => code as number | null);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${logs}`)), 60_000);
    child.stdout!.on('data', (d: Buffer) => (logs += d.toString()));
    child.stderr!.on('data', (d: Buffer) => {
      logs += d.toString();
      const line = logs.split('\n').find((l) => l.includes('"voicegate serving"'));
      if (!line) return;
      clearTimeout(timer);
      const started = JSON.parse(line) as { url: string; ports: ServeProcess['ports'] };
      resolve({
        child,
        url: started.url,
        ports: started.ports,
        logs: () => logs,
        stop: () => {
          child.kill('SIGTERM');
          return exited;
        },
      });
    });
    void exited.then((code) => reject(new Error(`server exited with ${code}:\n${logs}`)));
  });
}
