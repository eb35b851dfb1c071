import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { loadConfig } from '../../server/config/load.ts';
import { createContext } from '../../server/context.ts';
import { createLogger } from '../../server/log.ts';
import type { RunningServer } from '../../server/server.ts';
import { freePort } from '../helpers/free-port.ts';
import { serveProcess, type ServeProcess } from '../helpers/serve-process.ts';
import { until, wav } from '../mail/mail-helpers.ts';
import { peer, startNode } from './peers-kit.ts';

/**
 * The central, its own process, killed (SIGKILL) in the middle of a stream of messages
 * recorded on a distributed server, then started again: every message arrives once, in order.
 */
let dir: string;
let centralFile: string;
let centralSets: string[];
let central: ServeProcess | null = null;
let site: RunningServer;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'voicegate-central-kill-'));
  const smtpPort = await freePort();
  mkdirSync(join(dir, 'central'));
  centralFile = join(dir, 'central', 'voicegate.yaml');
  writeFileSync(centralFile, 'server:\n  dataDir: .\n');
  centralSets = [
    'server.name=central',
    'server.role=central',
    'http.tls=false',
    'sip.rtpPortMin=0',
    'sip.rtpPortMax=0',
    `smtp.port=${smtpPort}`,
    `topology.distributed=[${peer({ name: 'site1', smtp: '127.0.0.1:9' })}]`,
  ];
  const ctx = await createContext(loadConfig(centralFile, centralSets), createLogger('silent'));
  await ctx.mailboxes.add({ name: 'alice', extension: '201' }, '1234');
  await ctx.close();
  central = await serveProcess(centralFile, centralSets);
  site = await startNode(join(dir, 'site1'), [
    'server.name=site1',
    'server.role=distributed',
    'topology.retrySeconds=1',
    `topology.central=${peer({
      name: 'central',
      smtp: `127.0.0.1:${smtpPort}`,
      caFile: join(dir, 'central', 'tls', 'cert.pem'),
    })}`,
  ]);
  await site.context.mailboxes.add({ name: 'alice', extension: '201' }, '1234');
}, 60_000);

afterAll(async () => {
  await site?.close();
  await central?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** The callers of alice's messages at the central, in the order they were stored there. */
async function atCentral(): Promise<{ callers: string[]; identities: Set<string> }> {
  const ctx = await createContext(loadConfig(centralFile, centralSets), createLogger('silent'));
  try {
    const alice = await ctx.store.findMailbox('alice');
    const messages = (await ctx.store.listMessages(alice!.id)).sort((a, b) => a.uid - b.uid);
    return {
      callers: messages.map((m) => m.callerNumber ?? ''),
      identities: new Set(messages.map((m) => m.identity)),
    };
  } finally {
    await ctx.close();
  }
}

it('loses and duplicates nothing when the central is killed during a stream of messages', async () => {
  const audio = wav(dir, 1);
  const callers = Array.from({ length: 16 }, (_, i) => String(4000 + i));
  for (const [i, caller] of callers.entries()) {
    await site.context.messages.deposit({ mailbox: '201', audio, callerNumber: caller });
    if (i === 6) {
      // Some sent, some under way, the rest waiting.
      central!.child.kill('SIGKILL');
      await new Promise((resolve) => central!.child.once('exit', resolve));
      central = null;
    }
    await new Promise((resolve) => setTimeout(resolve, 30));
  }
  central = await serveProcess(centralFile, centralSets);
  const got = await until(async () => {
    const c = await atCentral();
    return c.callers.length >= callers.length && c;
  }, 40_000);
  expect(got.callers).toEqual(callers);
  expect(got.identities.size).toBe(callers.length);
  await until(async () => (await site.context.deliveries.list()).length === 0, 10_000, 'released');
}, 90_000);
