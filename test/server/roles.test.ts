import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../server/config/load.ts';
import type { OnceWork } from '../../server/domain/run-once.ts';
import { createLogger } from '../../server/log.ts';
import { buildServer, type BuiltServer } from '../../server/server.ts';
import { mailServers, until, wav } from '../mail/mail-helpers.ts';
import { SmtpRecorder } from '../mail/smtp-recorder.ts';

/** The composition root: parts built without binding, roles from the table, once-only work. */
let dir: string;
let smtp: SmtpRecorder;
const built: BuiltServer[] = [];

/** A port nobody listens on now (bound on 0, then released). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Whether a TCP connection to the port is accepted. */
function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

async function build(sets: string[], once?: (work: OnceWork) => boolean): Promise<BuiltServer> {
  const data = mkdtempSync(join(dir, 'data-'));
  const configFile = join(data, 'voicegate.yaml');
  writeFileSync(configFile, 'server:\n  dataDir: .\n');
  const loaded = loadConfig(configFile, [
    'imap.port=0',
    'imap.tlsPort=0',
    'sip.port=0',
    'smtp.port=0',
    'log.level=silent',
    mailServers([{ port: smtp.port }]),
    ...sets,
  ]);
  const server = await buildServer(
    loaded,
    createLogger('silent'),
    once ? { once: { runsHere: once } } : {},
  );
  built.push(server);
  return server;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'voicegate-roles-'));
  smtp = await SmtpRecorder.start({ tls: 'none' });
});

afterEach(async () => {
  for (const s of built.splice(0)) await s.close();
});

afterAll(async () => {
  await smtp?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('the composition root', () => {
  it('builds every part of a standalone server without binding a port, then listens', async () => {
    const port = await freePort();
    const server = await build([`http.port=${port}`]);
    expect([...server.parts.keys()]).toEqual([
      'sip',
      'http',
      'imap',
      'smtp-in',
      'delivery',
      'housekeeping',
      'backup',
      'exchange-sync',
      'monitor',
    ]);
    expect(await accepts(port)).toBe(false);
    const running = await server.listen();
    expect(running.ports.http).toBe(port);
    expect(await accepts(port)).toBe(true);
    await running.close();
    expect(await accepts(port)).toBe(false);
  });

  it('closes a server that was built and never listened', async () => {
    const server = await build(['http.port=0']);
    await server.close();
    expect(server.closing()).toEqual([]);
  });

  it('starts a backup: every part, with its watch of the central', async () => {
    const central = '{name: c, smtp: "127.0.0.1:25", secret: 0123456789abcdef0123}';
    const server = await build([
      'http.port=0',
      'smtp.port=0',
      'server.role=backup',
      `topology.central=${central}`,
    ]);
    const parts = [...server.parts.keys()];
    expect(parts).toContain('failover');
    expect(parts).toEqual(expect.arrayContaining(['sip', 'imap', 'http', 'smtp-in', 'delivery']));
  });

  it('sends the delivery queue only on the node that runs it', async () => {
    let mine = false;
    const server = await build(['http.port=0'], (work) => work !== 'delivery' || mine);
    const running = await server.listen();
    await running.context.mailboxes.add(
      { name: 'alice', extension: '201', email: 'alice@example.com', emailMode: 'copy' },
      '1234',
    );
    await running.context.messages.deposit({ mailbox: '201', audio: wav(dir, 1) });
    // Queued and poked at once; another node would send it, so this one leaves it waiting.
    await until(async () => (await running.context.deliveries.list()).length === 1, 5000, 'queued');
    await new Promise((r) => setTimeout(r, 2500)); // one poll of the queue
    expect(smtp.mails).toHaveLength(0);
    expect(await running.context.deliveries.list()).toHaveLength(1);

    // The lease moves here: the next poll sends it.
    mine = true;
    await smtp.waitFor(1, 10_000);
    await until(async () => (await running.context.deliveries.list()).length === 0, 5000, 'sent');
  });
});
