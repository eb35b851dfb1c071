/**
 * The extensions Voicegate advertises, each checked to do what it says: IDLE, UIDPLUS, MOVE,
 * CONDSTORE, SPECIAL-USE, NAMESPACE, ID, ENABLE, UNSELECT, QUOTA and COMPRESS=DEFLATE.
 */
import type { Socket } from 'node:net';
import type { ImapFlow } from 'imapflow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packageVersion } from '../../server/context.ts';
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

const QUOTA_MB = 3;

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer([`imap.quotaMB=${QUOTA_MB}`]);
});
afterAll(async () => server?.stop());

async function session<T>(user: string, fn: (c: ImapFlow) => Promise<T>): Promise<T> {
  const client = await connected(server, user);
  try {
    return await fn(client);
  } finally {
    await client.logout();
  }
}

describe('capabilities', () => {
  it('advertises the extensions after login', async () => {
    const box = await newMailbox(server);
    const caps = await session(box.name, async (c) => [...c.capabilities.keys()]);
    for (const cap of [
      'IDLE',
      'UIDPLUS',
      'MOVE',
      'CONDSTORE',
      'SPECIAL-USE',
      'NAMESPACE',
      'ID',
      'ENABLE',
      'UNSELECT',
      'QUOTA',
      'COMPRESS=DEFLATE',
    ])
      expect(caps, cap).toContain(cap);
  });

  it('ID names the server and its version', async () => {
    const box = await newMailbox(server);
    const info = await session(box.name, async (c) => c.serverInfo);
    expect(info).toMatchObject({ name: 'Voicegate', version: packageVersion() });
  });

  it('NAMESPACE: one personal namespace, no prefix, "/" as delimiter', async () => {
    const box = await newMailbox(server);
    const ns = await session(box.name, async (c) => c.namespace);
    expect(ns).toEqual({ prefix: '', delimiter: '/' });
  });

  it('ENABLE CONDSTORE is answered ENABLED, and imapflow has it enabled', async () => {
    const box = await newMailbox(server);
    expect(await session(box.name, async (c) => [...c.enabled])).toContain('CONDSTORE');
    const raw = await rawLogin(server.ports.imaps, box.name, '1234');
    try {
      const reply = await raw.command('ENABLE CONDSTORE');
      expect(reply.status).toBe('OK');
      expect(reply.untagged).toContain('ENABLED CONDSTORE');
    } finally {
      raw.close();
    }
  });

  it('SPECIAL-USE: LIST shows INBOX and Trash, Trash marked \\Trash', async () => {
    const box = await newMailbox(server);
    const list = await session(box.name, async (c) => c.list());
    expect(list.map((f) => f.path).sort()).toEqual(['INBOX', 'Trash']);
    expect(list.find((f) => f.path === 'Trash')!.specialUse).toBe('\\Trash');
    const raw = await rawLogin(server.ports.imaps, box.name, '1234');
    try {
      const reply = await raw.command('LIST "" "*" RETURN (SPECIAL-USE)');
      expect(reply.untagged.find((u) => u.endsWith('"Trash"'))).toMatch(/\\Trash\b/);
    } finally {
      raw.close();
    }
  });

  it('IDLE: the session idles and comes out of it for the next command', async () => {
    const box = await newMailbox(server);
    await deposit(server, box.name);
    const client = await connected(server, box.name, { disableAutoIdle: true });
    try {
      await client.mailboxOpen('INBOX');
      const idle = client.idle();
      await until(() => client.idling);
      // Any command ends IDLE (imapflow sends DONE first) and is answered.
      const status = await client.status('INBOX', { messages: true });
      expect(present(status).messages).toBe(1);
      // imapflow resolves idle() with false when IDLE failed.
      expect(await idle).not.toBe(false);
      expect(client.idling).toBe(false);
    } finally {
      await client.logout();
    }
  });
});

describe('UIDPLUS and MOVE on the wire', () => {
  it('UID MOVE answers COPYUID with the Trash UIDVALIDITY and the new UIDs, and EXPUNGEs', async () => {
    const box = await newMailbox(server);
    const m1 = (await deposit(server, box.name)).message;
    const m2 = (await deposit(server, box.name)).message;
    const raw = await rawLogin(server.ports.imaps, box.name, '1234');
    try {
      const trash = await raw.command('STATUS Trash (UIDVALIDITY UIDNEXT)');
      const [, validity, next] = /UIDVALIDITY (\d+) UIDNEXT (\d+)/.exec(trash.untagged[0]!) ?? [];
      await raw.command('SELECT INBOX');
      const reply = await raw.command(`UID MOVE ${m1.uid}:${m2.uid} Trash`);
      expect(reply.status).toBe('OK');
      const t1 = (await stored(server, m1.id))!.uid;
      const t2 = (await stored(server, m2.id))!.uid;
      expect(t1).toBeGreaterThanOrEqual(Number(next));
      const copyuid = `COPYUID ${validity} ${m1.uid}:${m2.uid} ${t1}:${t2}`;
      const copyuidAlt = `COPYUID ${validity} ${m1.uid},${m2.uid} ${t1},${t2}`;
      const all = [...reply.untagged, reply.text].join('\n');
      expect(all.includes(copyuid) || all.includes(copyuidAlt), all).toBe(true);
      expect(reply.untagged.filter((u) => u === '1 EXPUNGE')).toHaveLength(2);
    } finally {
      raw.close();
    }
  });

  it('UID MOVE of a UID the session does not know moves nothing and sends no malformed COPYUID', async () => {
    const box = await newMailbox(server);
    const { message } = await deposit(server, box.name);
    const raw = await rawLogin(server.ports.imaps, box.name, '1234');
    try {
      await raw.command('SELECT INBOX');
      const reply = await raw.command('UID MOVE 999 Trash');
      expect(reply.text).not.toMatch(/COPYUID \d+\s+\s/);
      expect(reply.status).not.toBe('BAD');
    } finally {
      raw.close();
    }
    expect(await stored(server, message.id)).toMatchObject({ folder: 'inbox', state: 'new' });
  });
});

describe('flags', () => {
  // RFC 3501 7.1: PERMANENTFLAGS lists the flags a client can change permanently, and \* says it
  // may create keywords. Voicegate keeps only \Seen, \Flagged and \Deleted (DESIGN.md); a
  // client told otherwise sets \Answered or a tag, sees it vanish and may keep re-sending it.
  it('SELECT announces as PERMANENTFLAGS only the flags it keeps', async () => {
    const box = await newMailbox(server);
    const { message } = await deposit(server, box.name);
    const raw = await rawLogin(server.ports.imaps, box.name, '1234');
    try {
      const reply = await raw.command('SELECT INBOX');
      const kept = await raw.command(`UID STORE ${message.uid} +FLAGS (\\Answered $Label1)`);
      // What the server keeps...
      expect(kept.untagged).toEqual([`1 FETCH (UID ${message.uid} FLAGS ())`]);
      // ...is what it may announce as permanent.
      const permanent = reply.untagged
        .map((u) => /^OK \[PERMANENTFLAGS \(([^)]*)\)\]/.exec(u)?.[1])
        .find((f) => f !== undefined);
      expect(permanent?.split(' ').sort()).toEqual(['\\Deleted', '\\Flagged', '\\Seen']);
    } finally {
      raw.close();
    }
  });
});

describe('CONDSTORE', () => {
  it('FETCH MODSEQ and SELECT HIGHESTMODSEQ follow the store', async () => {
    const box = await newMailbox(server);
    const { message } = await deposit(server, box.name);
    await session(box.name, async (c) => {
      const opened = await c.mailboxOpen('INBOX');
      const highest = await server.context.store.highestModseq(box.id);
      expect(opened.highestModseq).toBe(BigInt(highest));
      const before = present(await c.fetchOne('1', { uid: true, flags: true }));
      expect(before.modseq).toBe(BigInt(message.modseq));
      const played = await server.context.messages.act(box.id, message.id, 'play');
      const after = present(await c.fetchOne('1', { uid: true, flags: true }));
      expect(after.modseq).toBe(BigInt(played.modseq));
      expect(played.modseq).toBeGreaterThan(message.modseq);
    });
  });

  it('FETCH (CHANGEDSINCE n) returns only the messages changed after n', async () => {
    const box = await newMailbox(server);
    const a = (await deposit(server, box.name)).message;
    const b = (await deposit(server, box.name)).message;
    const c = (await deposit(server, box.name)).message;
    const since = await server.context.store.highestModseq(box.id);
    await server.context.messages.act(box.id, b.id, 'save');
    await session(box.name, async (client) => {
      await client.mailboxOpen('INBOX');
      const changed = await client.fetchAll(
        '1:*',
        { uid: true, flags: true },
        { changedSince: BigInt(since) },
      );
      expect(changed.map((m) => m.uid)).toEqual([b.uid]);
      expect(sortedFlags(changed[0]!.flags)).toEqual(['\\Flagged', '\\Seen']);
      const all = await client.fetchAll('1:*', { uid: true }, { changedSince: 0n });
      expect(all.map((m) => m.uid)).toEqual([a.uid, b.uid, c.uid]);
    });
  });

  it('STORE (UNCHANGEDSINCE n) answers MODIFIED for messages changed since and stores the rest', async () => {
    const box = await newMailbox(server);
    const a = (await deposit(server, box.name)).message;
    const b = (await deposit(server, box.name)).message;
    const raw = await rawLogin(server.ports.imaps, box.name, '1234');
    try {
      await raw.command('SELECT INBOX (CONDSTORE)');
      const since = await server.context.store.highestModseq(box.id);
      // The web saves message a meanwhile.
      await server.context.messages.act(box.id, a.id, 'save');
      const reply = await raw.command(
        `UID STORE ${a.uid},${b.uid} (UNCHANGEDSINCE ${since}) +FLAGS (\\Seen)`,
      );
      expect(reply.status).toBe('OK');
      expect(reply.code).toBe(`MODIFIED ${a.uid}`);
      // a keeps what the web did, b was played by the STORE.
      expect((await stored(server, a.id))!.state).toBe('saved');
      expect((await stored(server, b.id))!.state).toBe('old');
      const bReply = reply.untagged.find((u) => u.includes(`UID ${b.uid}`));
      expect(bReply).toMatch(/FLAGS \(\\Seen\) MODSEQ \(\d+\)/);
    } finally {
      raw.close();
    }
  });
});

describe('UNSELECT and CLOSE', () => {
  it('UNSELECT leaves \\Deleted messages in INBOX; the session is no longer selected', async () => {
    const box = await newMailbox(server);
    const { message } = await deposit(server, box.name);
    const raw = await rawLogin(server.ports.imaps, box.name, '1234');
    try {
      await raw.command('SELECT INBOX');
      await raw.command(`UID STORE ${message.uid} +FLAGS.SILENT (\\Deleted)`);
      const reply = await raw.command('UNSELECT');
      expect(reply.status).toBe('OK');
      expect((await raw.command('FETCH 1 FLAGS')).status).toBe('BAD');
    } finally {
      raw.close();
    }
    expect(await stored(server, message.id)).toMatchObject({
      state: 'deleted',
      folder: 'inbox',
      uid: message.uid,
    });
  });

  // RFC 3501 6.4.2: CLOSE removes the \Deleted messages (silently). Mail clients that "expunge
  // on folder exit" rely on it; here it would move them to Trash like EXPUNGE does.
  it('CLOSE expunges silently: \\Deleted messages go to Trash', async () => {
    const box = await newMailbox(server);
    const { message } = await deposit(server, box.name);
    const raw = await rawLogin(server.ports.imaps, box.name, '1234');
    try {
      await raw.command('SELECT INBOX');
      await raw.command(`UID STORE ${message.uid} +FLAGS.SILENT (\\Deleted)`);
      const reply = await raw.command('CLOSE');
      expect(reply.status).toBe('OK');
      expect(reply.untagged.filter((u) => u.endsWith('EXPUNGE'))).toEqual([]);
    } finally {
      raw.close();
    }
    expect(await stored(server, message.id)).toMatchObject({ state: 'deleted', folder: 'trash' });
  });
});

describe('QUOTA', () => {
  it('GETQUOTAROOT INBOX: the limit is imap.quotaMB, usage grows with a deposit', async () => {
    const box = await newMailbox(server);
    const usage = async (path: string) =>
      present(await session(box.name, async (c) => c.getQuota(path))).storage!;
    const q0 = await usage('INBOX');
    expect(q0.limit).toBe(QUOTA_MB * 1024 * 1024);
    const { message } = await deposit(server, box.name, { seconds: 4 });
    const q1 = await usage('INBOX');
    // At least the audio itself, base64-encoded.
    expect(q1.usage! - q0.usage!).toBeGreaterThanOrEqual((message.audio.bytes * 4) / 3);
    // Deleted messages in Trash still count until they are purged.
    await server.context.messages.act(box.id, message.id, 'delete');
    expect((await usage('INBOX')).usage).toBe(q1.usage);
    await server.context.messages.purge(box.id, [message.id]);
    expect((await usage('Trash')).usage).toBe(q0.usage);
  });

  it('GETQUOTAROOT of an unknown folder is NO [NONEXISTENT]', async () => {
    const box = await newMailbox(server);
    const raw = await rawLogin(server.ports.imaps, box.name, '1234');
    try {
      const reply = await raw.command('GETQUOTAROOT Archive');
      expect(reply.status).toBe('NO');
      expect(reply.code).toBe('NONEXISTENT');
    } finally {
      raw.close();
    }
  });
});

describe('COMPRESS=DEFLATE', () => {
  it('imapflow negotiates it and fetches the same message in far fewer bytes', async () => {
    const box = await newMailbox(server);
    await deposit(server, box.name, { seconds: 8 });
    // imapflow keeps the TCP/TLS socket as `socket`; its byte count is what crossed the wire.
    const fetchBody = async (disableCompression: boolean) => {
      const client = await connected(server, box.name, { disableCompression });
      try {
        await client.mailboxOpen('INBOX');
        const socket = (client as unknown as { socket: Socket }).socket;
        const before = socket.bytesRead;
        const m = present(await client.fetchOne('1', { source: true }));
        return { source: m.source!, wire: socket.bytesRead - before };
      } finally {
        await client.logout();
      }
    };
    const plain = await fetchBody(true);
    const compressed = await fetchBody(false);
    expect(compressed.source.equals(plain.source)).toBe(true);
    expect(plain.wire).toBeGreaterThan(plain.source.length);
    expect(compressed.wire).toBeLessThan(plain.source.length / 2);
  });

  it('on the wire: COMPRESS DEFLATE, then commands and answers are deflated', async () => {
    const box = await newMailbox(server);
    const { message, audio } = await deposit(server, box.name, { seconds: 8 });
    const raw = await rawLogin(server.ports.imaps, box.name, '1234');
    try {
      expect((await raw.compress()).status).toBe('OK');
      expect((await raw.command('SELECT INBOX')).status).toBe('OK');
      const wire0 = raw.wireBytesRead;
      const protocol0 = raw.protocolBytesRead;
      const reply = await raw.command(`UID FETCH ${message.uid} (BODY.PEEK[2])`);
      expect(reply.status).toBe('OK');
      const body = /BODY\[2\] \{(\d+)\}\r\n/.exec(reply.untagged[0]!)!;
      const encoded = reply.untagged[0]!.slice(body.index + body[0].length).slice(
        0,
        Number(body[1]),
      );
      expect(Buffer.from(encoded, 'base64').equals(Buffer.from(audio))).toBe(true);
      expect(raw.wireBytesRead - wire0).toBeLessThan((raw.protocolBytesRead - protocol0) / 2);
    } finally {
      raw.close();
    }
  });
});
