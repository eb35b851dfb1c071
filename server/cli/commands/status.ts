import { readFileSync } from 'node:fs';
import https from 'node:https';
import http from 'node:http';
import { isAbsolute, resolve } from 'node:path';
import type { Command } from 'commander';
import { adminStatus } from '../../compose/admin-status.ts';
import type { LoadedConfig } from '../../config/load.ts';
import { packageVersion } from '../../context.ts';
import type { ConnectionStats } from '../../net/connection-limits.ts';
import { print, printJson, printTable, withContext } from '../common.ts';

/** What the running server says of itself on its health endpoints (no session needed). */
interface Running {
  connections: Record<string, ConnectionStats>;
  calls: { active: number; total: number } | null;
}

/**
 * GET one of the running server's health endpoints on loopback. Over TLS the server's own
 * certificate file is the one trusted: this is our own server, whatever name it carries.
 */
function getLocal(loaded: LoadedConfig, path: string): Promise<unknown> {
  const { port, tls } = loaded.config.http;
  const file = loaded.config.tls.cert;
  const options = { host: '127.0.0.1', port, path, timeout: 3000 };
  return new Promise((done, fail) => {
    const req = tls
      ? https.get({
          ...options,
          ca: readFileSync(isAbsolute(file) ? file : resolve(loaded.dataDir, file)),
          checkServerIdentity: () => undefined,
        })
      : http.get(options);
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        if (res.statusCode !== 200) return fail(new Error(`HTTP ${res.statusCode}`));
        try {
          done(JSON.parse(Buffer.concat(chunks).toString('utf8')));
        } catch (err) {
          fail(err as Error);
        }
      });
    });
    req.on('timeout', () => req.destroy(new Error('no answer within 3 s')));
    req.on('error', fail);
  });
}

async function running(loaded: LoadedConfig): Promise<Running | string> {
  try {
    const connections = (await getLocal(loaded, '/healthz/connections')) as Running['connections'];
    const calls = (await getLocal(loaded, '/healthz/calls').catch(() => null)) as
      Running['calls'] | null;
    return { connections, calls };
  } catch (err) {
    return `no running server answers on port ${loaded.config.http.port} (${(err as Error).message})`;
  }
}

const bytes = (n: number | null | undefined): string =>
  n === null || n === undefined ? '-' : `${(n / 2 ** 20).toFixed(1)} MiB`;

export function registerStatus(program: Command): void {
  program
    .command('status')
    .description(
      "the installation's status, as the admin area's status page shows it: store, disk, queue, Exchange, and the running server's listeners and calls",
    )
    .option('--json', 'as JSON')
    .action(async (o: { json?: boolean }, cmd: Command) => {
      await withContext(cmd, async (ctx) => {
        const live = await running(ctx.loaded);
        const up = typeof live === 'string' ? null : live;
        const status = await adminStatus(ctx, packageVersion(), () => ({}), {
          listeners: Object.fromEntries(
            Object.entries(up?.connections ?? {}).map(([name, stats]) => [name, () => stats]),
          ),
          calls: up ? () => up.calls : undefined,
        })();
        // This process's uptime, PBX view and Exchange observations are not the server's.
        const { uptimeSeconds: _u, pbx: _p, parts: _r, exchange, ...shown } = status;
        const report = {
          ...shown,
          exchange: exchange.map((c) => ({ name: c.name, kind: c.kind })),
          server: up ? 'running' : live,
        };
        if (o.json) return printJson(report);
        print(`voicegate ${report.version}; server: ${report.server}`);
        print(
          `store: ${report.store.ok ? 'ok' : report.store.problem}, ${bytes(report.storeBytes)}`,
        );
        if (report.disk)
          print(
            `disk: ${bytes(report.disk.freeBytes)} free of ${bytes(report.disk.totalBytes)} (${report.disk.path})`,
          );
        print(`queue: ${report.queue.pending} pending, ${report.queue.failed} failed for good`);
        if (report.calls)
          print(`calls: ${report.calls.active} in progress, ${report.calls.total} in all`);
        if (report.imapSessions !== null) print(`IMAP sessions: ${report.imapSessions}`);
        if (report.listeners.length > 0)
          printTable(
            ['LISTENER', 'CONNECTIONS', 'REFUSED'],
            report.listeners.map((l) => [l.name, String(l.active), String(l.refused)]),
          );
        if (report.exchange.length > 0)
          printTable(
            ['EXCHANGE', 'KIND'],
            report.exchange.map((c) => [c.name, c.kind]),
          );
      });
    });
}
