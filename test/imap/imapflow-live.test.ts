/**
 * "One truth, every channel": a change made anywhere else (the web or the phone through the
 * domain, housekeeping, another IMAP session, the CLI in another process) reaches an IMAP
 * client that has INBOX selected and is IDLE, within a second.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { ImapFlow } from 'imapflow';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { toneWav } from '../../server/media/tone.ts';
import { runCli } from '../helpers/cli.ts';
import { startTestServer, type TestServer } from '../helpers/test-server.ts';
import {
  connected,
  deposit,
  newMailbox,
  present,
  sortedFlags,
  stored,
  until,
} from './imapflow-kit.ts';
import { rawLogin } from './imapflow-raw.ts';

const LIMIT_MS = 1000;
/** Deleted messages are purged 0.36 s after deletion, so a test can wait for housekeeping. */
const PURGE_HOURS = 0.0001;

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer([`housekeeping.purgeDeletedAfterHours=${PURGE_HOURS}`]);
});
afterAll(async () => server?.stop());

const clients: ImapFlow[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) await c.logout().catch(() => c.close());
});

interface Timed<T> {
  at: number;
  data: T;
}

interface ExistsEvent {
  count: number;
  prevCount: number;
}
interface FlagsEvent {
  seq: number;
  uid?: number;
  flags: Set<string>;
}
interface ExpungeEvent {
  seq: number;
}

/** The next `event` of `client` matching `match`, with the time it arrived. */
function next<T>(
  client: ImapFlow,
  event: 'exists' | 'flags' | 'expunge',
  match: (data: T) => boolean = () => true,
): Promise<Timed<T>> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      client.off(event, listener);
      reject(new Error(`no ${event} event within 5 s`));
    }, 5000);
    const listener = (data: T): void => {
      if (!match(data)) return;
      clearTimeout(timer);
      client.off(event, listener);
      resolve({ at: performance.now(), data });
    };
    client.on(event, listener);
  });
}

/** A client of `mailbox` with INBOX selected, IDLE. */
async function idling(mailbox: string): Promise<ImapFlow> {
  const client = await connected(server, mailbox, { disableAutoIdle: true });
  clients.push(client);
  await client.mailboxOpen('INBOX');
  void client.idle().catch(() => {});
  await until(() => client.idling);
  return client;
}

describe('changes made elsewhere reach an IDLE session within a second', () => {
  it('a new voicemail (deposit) arrives as EXISTS', async () => {
    const box = await newMailbox(server);
    await deposit(server, box.name);
    const client = await idling(box.name);
    expect(present(client.mailbox).exists).toBe(1);

    const arrived = next<ExistsEvent>(client, 'exists');
    const t0 = performance.now();
    const { message } = await deposit(server, box.name, { callerNumber: '5559876' });
    const ev = await arrived;
    expect(ev.at - t0).toBeLessThan(LIMIT_MS);
    expect(ev.data).toMatchObject({ count: 2, prevCount: 1 });

    // And it is the message that was deposited.
    const m = present(await client.fetchOne('2', { uid: true, flags: true, envelope: true }));
    expect(m.uid).toBe(message.uid);
    expect(sortedFlags(m.flags)).toEqual([]);
    expect(m.envelope!.subject).toContain('5559876');
  });

  it('a state change on the web (play, save, mark unread) arrives as FETCH FLAGS', async () => {
    const box = await newMailbox(server);
    const { message } = await deposit(server, box.name);
    const client = await idling(box.name);
    for (const [action, flags] of [
      ['play', ['\\Seen']],
      ['save', ['\\Flagged', '\\Seen']],
      ['markUnread', []],
    ] as const) {
      const changed = next<FlagsEvent>(client, 'flags');
      const t0 = performance.now();
      await server.context.messages.act(box.id, message.id, action);
      const ev = await changed;
      expect(ev.at - t0, action).toBeLessThan(LIMIT_MS);
      expect(ev.data.seq).toBe(1);
      expect(sortedFlags(ev.data.flags), action).toEqual(flags);
    }
  });

  it('a delete on the phone arrives as EXPUNGE; the undelete as EXISTS', async () => {
    const box = await newMailbox(server);
    const first = (await deposit(server, box.name)).message;
    const second = (await deposit(server, box.name)).message;
    const client = await idling(box.name);

    const gone = next<ExpungeEvent>(client, 'expunge');
    let t0 = performance.now();
    await server.context.messages.act(box.id, first.id, 'delete');
    const ev = await gone;
    expect(ev.at - t0).toBeLessThan(LIMIT_MS);
    expect(ev.data.seq).toBe(1);
    expect(present(client.mailbox).exists).toBe(1);

    const back = next<ExistsEvent>(client, 'exists');
    t0 = performance.now();
    await server.context.messages.act(box.id, first.id, 'undelete');
    const ev2 = await back;
    expect(ev2.at - t0).toBeLessThan(LIMIT_MS);
    expect(ev2.data.count).toBe(2);
    const uids = (await client.fetchAll('1:*', { uid: true })).map((m) => m.uid);
    expect(uids).toEqual([second.uid, (await stored(server, first.id))!.uid]);
  });

  it('a session with Trash selected sees the phone delete as EXISTS, the undelete as EXPUNGE', async () => {
    const box = await newMailbox(server);
    const { message } = await deposit(server, box.name);
    const client = await connected(server, box.name, { disableAutoIdle: true });
    clients.push(client);
    await client.mailboxOpen('Trash');
    void client.idle().catch(() => {});
    await until(() => client.idling);

    const arrived = next<ExistsEvent>(client, 'exists');
    let t0 = performance.now();
    const deleted = await server.context.messages.act(box.id, message.id, 'delete');
    const ev = await arrived;
    expect(ev.at - t0).toBeLessThan(LIMIT_MS);
    expect(ev.data.count).toBe(1);

    const gone = next<ExpungeEvent>(client, 'expunge');
    t0 = performance.now();
    await server.context.messages.act(box.id, message.id, 'undelete');
    const ev2 = await gone;
    expect(ev2.at - t0).toBeLessThan(LIMIT_MS);
    expect(ev2.data.seq).toBe(1);
    expect(deleted.folder).toBe('trash');
  });

  it('a message read in another IMAP session (FETCH BODY[]) arrives as FETCH FLAGS \\Seen', async () => {
    const box = await newMailbox(server);
    const { message } = await deposit(server, box.name);
    const client = await idling(box.name);
    const other = await rawLogin(server.ports.imaps, box.name, '1234');
    try {
      await other.command('SELECT INBOX');
      const changed = next<FlagsEvent>(client, 'flags');
      const t0 = performance.now();
      await other.command(`UID FETCH ${message.uid} (BODY[])`);
      const ev = await changed;
      expect(ev.at - t0).toBeLessThan(LIMIT_MS);
      expect(sortedFlags(ev.data.flags)).toEqual(['\\Seen']);
    } finally {
      other.close();
    }
  });

  it('a message expunged by another IMAP session arrives as EXPUNGE', async () => {
    const box = await newMailbox(server);
    const { message } = await deposit(server, box.name);
    const client = await idling(box.name);
    const other = await rawLogin(server.ports.imaps, box.name, '1234');
    try {
      await other.command('SELECT INBOX');
      const flagged = next<FlagsEvent>(client, 'flags');
      await other.command(`UID STORE ${message.uid} +FLAGS (\\Deleted)`);
      expect(sortedFlags((await flagged).data.flags)).toEqual(['\\Deleted']);
      const gone = next<ExpungeEvent>(client, 'expunge');
      const t0 = performance.now();
      await other.command('EXPUNGE');
      const ev = await gone;
      expect(ev.at - t0).toBeLessThan(LIMIT_MS);
      expect(ev.data.seq).toBe(1);
    } finally {
      other.close();
    }
  });

  it('housekeeping purging a message still in INBOX (\\Deleted) arrives as EXPUNGE', async () => {
    const box = await newMailbox(server);
    const { message } = await deposit(server, box.name);
    // Deleted by a mail client that has not expunged yet: it stays in INBOX with \Deleted.
    await server.context.messages.act(box.id, message.id, 'delete', { keepFolder: true });
    const client = await idling(box.name);
    expect(present(client.mailbox).exists).toBe(1);
    await new Promise((r) => setTimeout(r, PURGE_HOURS * 3_600_000 + 50));

    const gone = next<ExpungeEvent>(client, 'expunge');
    const t0 = performance.now();
    const result = await server.context.messages.runHousekeeping();
    expect(result.purged).toBeGreaterThanOrEqual(1);
    const ev = await gone;
    expect(ev.at - t0).toBeLessThan(LIMIT_MS);
    expect(ev.data.seq).toBe(1);
    expect(await stored(server, message.id)).toBeNull();
  });

  it('a deposit by the CLI in another process arrives as EXISTS within 1 s of the CLI exiting', async () => {
    const box = await newMailbox(server);
    const client = await idling(box.name);
    const wav = join(server.dir, 'cli-deposit.wav');
    writeFileSync(wav, toneWav({ seconds: 1 }));

    const arrived = next<ExistsEvent>(client, 'exists');
    const result = await runCli([
      '--config',
      server.configFile,
      'deposit',
      box.name,
      wav,
      '--from',
      '5554321',
    ]);
    const exited = performance.now();
    expect(result.code, result.stderr).toBe(0);
    const ev = await arrived;
    expect(ev.at - exited).toBeLessThan(LIMIT_MS);
    expect(ev.data.count).toBe(1);
    const [listed] = await server.context.messages.list(box.id);
    expect(present(listed).callerNumber).toBe('5554321');
    expect(present(await client.fetchOne('1', { uid: true })).uid).toBe(listed!.uid);
  });
});
