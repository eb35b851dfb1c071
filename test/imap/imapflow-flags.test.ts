/**
 * DESIGN.md's IMAP view, both ways: what flags and folders a mail client sees for each voicemail
 * state, and what each flag change, EXPUNGE and MOVE does to the voicemail. Every change is
 * checked in the store and from a second, independent IMAP session.
 */
import { rmSync } from 'node:fs';
import type { ImapFlow } from 'imapflow';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../server/config/load.ts';
import { createLogger } from '../../server/log.ts';
import { startServer } from '../../server/server.ts';
import { startTestServer, type TestServer } from '../helpers/test-server.ts';
import {
  connected,
  deposit,
  folderView,
  newMailbox,
  Observer,
  present,
  sortedFlags,
  stored,
  type FolderView,
} from './imapflow-kit.ts';
import { rawLogin } from './imapflow-raw.ts';

const SEEN = '\\Seen';
const FLAGGED = '\\Flagged';
const DELETED = '\\Deleted';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => server?.stop());

const observers: Observer[] = [];
afterEach(async () => {
  for (const o of observers.splice(0)) await o.close();
});

/** A fresh mailbox and a second session watching it. */
async function watched(): Promise<{ box: { id: number; name: string }; seen: Observer }> {
  const box = await newMailbox(server);
  const seen = await Observer.open(server, box.name);
  observers.push(seen);
  return { box, seen };
}

/** Flags a client sees for `uid` in the STORE reply. */
async function flagsAfterStore(
  client: ImapFlow,
  uid: number,
  change: 'add' | 'remove',
  flag: string,
): Promise<string[]> {
  const ok =
    change === 'add'
      ? await client.messageFlagsAdd(String(uid), [flag], { uid: true })
      : await client.messageFlagsRemove(String(uid), [flag], { uid: true });
  expect(ok).toBe(true);
  const m = present(await client.fetchOne(String(uid), { uid: true, flags: true }, { uid: true }));
  return sortedFlags(m.flags);
}

function flagsOf(view: FolderView, uid: number): string[] | undefined {
  return view.flags.get(uid);
}

describe('flags shown for voicemail states', () => {
  it('a new voicemail has no \\Seen; BODY.PEEK[] leaves it new, BODY[] plays it', async () => {
    const { box, seen } = await watched();
    const { message } = await deposit(server, box.name);
    expect(flagsOf(await seen.view('INBOX'), message.uid)).toEqual([]);

    const raw = await rawLogin(server.ports.imaps, box.name, '1234');
    try {
      expect((await raw.command('SELECT INBOX')).status).toBe('OK');
      const peek = await raw.command(`UID FETCH ${message.uid} (BODY.PEEK[])`);
      expect(peek.status).toBe('OK');
      expect(peek.untagged.join('\n')).not.toContain(SEEN);
      expect((await stored(server, message.id))!.state).toBe('new');
      expect(flagsOf(await seen.view('INBOX'), message.uid)).toEqual([]);

      const read = await raw.command(`UID FETCH ${message.uid} (BODY[])`);
      expect(read.status).toBe('OK');
      // The client is told at once that reading the message set \Seen.
      expect(read.untagged.join('\n')).toMatch(/FLAGS \(\\Seen\)/);
    } finally {
      raw.close();
    }
    expect((await stored(server, message.id))!.state).toBe('old');
    expect(flagsOf(await seen.view('INBOX'), message.uid)).toEqual([SEEN]);
  });

  it('BODY[] in a read-only session (EXAMINE) does not play it', async () => {
    const { box, seen } = await watched();
    const { message } = await deposit(server, box.name);
    const raw = await rawLogin(server.ports.imaps, box.name, '1234');
    try {
      expect((await raw.command('EXAMINE INBOX')).status).toBe('OK');
      const read = await raw.command(`UID FETCH ${message.uid} (BODY[])`);
      expect(read.status).toBe('OK');
      expect(read.untagged.join('\n')).not.toContain(SEEN);
    } finally {
      raw.close();
    }
    expect((await stored(server, message.id))!.state).toBe('new');
    expect(flagsOf(await seen.view('INBOX'), message.uid)).toEqual([]);
  });

  it('BODY[] of a played or saved message leaves its state alone', async () => {
    const { box, seen } = await watched();
    const { message } = await deposit(server, box.name);
    await server.context.messages.act(box.id, message.id, 'save');
    const raw = await rawLogin(server.ports.imaps, box.name, '1234');
    try {
      await raw.command('SELECT INBOX');
      expect((await raw.command(`UID FETCH ${message.uid} (BODY[])`)).status).toBe('OK');
    } finally {
      raw.close();
    }
    expect((await stored(server, message.id))!.state).toBe('saved');
    expect(flagsOf(await seen.view('INBOX'), message.uid)).toEqual([FLAGGED, SEEN]);
  });
});

describe('flag changes from a mail client', () => {
  let client: ImapFlow;
  let box: { id: number; name: string };
  let seen: Observer;
  beforeAll(async () => {
    box = await newMailbox(server);
    client = await connected(server, box.name);
    seen = await Observer.open(server, box.name);
  });
  afterAll(async () => {
    await client?.logout();
    await seen?.close();
  });

  it('+FLAGS \\Seen plays the message (old), -FLAGS \\Seen makes it new again', async () => {
    const { message } = await deposit(server, box.name);
    await client.mailboxOpen('INBOX');
    expect(await flagsAfterStore(client, message.uid, 'add', SEEN)).toEqual([SEEN]);
    expect((await stored(server, message.id))!.state).toBe('old');
    expect(flagsOf(await seen.view('INBOX'), message.uid)).toEqual([SEEN]);

    expect(await flagsAfterStore(client, message.uid, 'remove', SEEN)).toEqual([]);
    expect((await stored(server, message.id))!.state).toBe('new');
    expect(flagsOf(await seen.view('INBOX'), message.uid)).toEqual([]);
  });

  it('+FLAGS \\Flagged saves it (\\Seen \\Flagged), -FLAGS \\Flagged leaves it played (old)', async () => {
    const { message } = await deposit(server, box.name);
    await client.mailboxOpen('INBOX');
    expect(await flagsAfterStore(client, message.uid, 'add', FLAGGED)).toEqual([FLAGGED, SEEN]);
    expect((await stored(server, message.id))!.state).toBe('saved');
    expect(flagsOf(await seen.view('INBOX'), message.uid)).toEqual([FLAGGED, SEEN]);

    expect(await flagsAfterStore(client, message.uid, 'remove', FLAGGED)).toEqual([SEEN]);
    expect((await stored(server, message.id))!.state).toBe('old');
    expect(flagsOf(await seen.view('INBOX'), message.uid)).toEqual([SEEN]);
  });

  it('+FLAGS \\Deleted deletes it in place; -FLAGS \\Deleted restores the state, same UID', async () => {
    const { message } = await deposit(server, box.name);
    await client.mailboxOpen('INBOX');
    await client.messageFlagsAdd(String(message.uid), [FLAGGED], { uid: true });

    expect(await flagsAfterStore(client, message.uid, 'add', DELETED)).toEqual([
      DELETED,
      FLAGGED,
      SEEN,
    ]);
    const deleted = (await stored(server, message.id))!;
    expect(deleted).toMatchObject({
      state: 'deleted',
      deletedFrom: 'saved',
      folder: 'inbox',
      uid: message.uid,
    });
    const ids = async (view: 'inbox' | 'deleted') =>
      (await server.context.messages.list(box.id, view)).map((m) => m.id);
    expect(await ids('deleted')).toContain(message.id);
    expect(await ids('inbox')).not.toContain(message.id);
    expect(flagsOf(await seen.view('INBOX'), message.uid)).toEqual([DELETED, FLAGGED, SEEN]);

    expect(await flagsAfterStore(client, message.uid, 'remove', DELETED)).toEqual([FLAGGED, SEEN]);
    expect(await stored(server, message.id)).toMatchObject({
      state: 'saved',
      deletedFrom: null,
      folder: 'inbox',
      uid: message.uid,
    });
    expect(await ids('inbox')).toContain(message.id);
    expect(await ids('deleted')).not.toContain(message.id);
    expect(flagsOf(await seen.view('INBOX'), message.uid)).toEqual([FLAGGED, SEEN]);
  });
});

describe('EXPUNGE and MOVE', () => {
  it('EXPUNGE in INBOX moves the \\Deleted messages to Trash, new UIDs, flags of their state', async () => {
    const { box, seen } = await watched();
    const played = (await deposit(server, box.name)).message;
    const fresh = (await deposit(server, box.name)).message;
    const kept = (await deposit(server, box.name)).message;
    const trashBefore = await seen.view('Trash');

    const raw = await rawLogin(server.ports.imaps, box.name, '1234');
    try {
      await raw.command('SELECT INBOX');
      await raw.command(`UID STORE ${played.uid} +FLAGS (\\Seen \\Deleted)`);
      await raw.command(`UID STORE ${fresh.uid} +FLAGS (\\Deleted)`);
      const reply = await raw.command('EXPUNGE');
      expect(reply.status).toBe('OK');
      // Sequence numbers 1 and 2, each reported as it goes: 1, then the next one is 1 again.
      expect(reply.untagged).toEqual(['1 EXPUNGE', '1 EXPUNGE']);
    } finally {
      raw.close();
    }

    const inbox = await seen.view('INBOX');
    expect([...inbox.flags.keys()]).toEqual([kept.uid]);
    const trash = await seen.view('Trash');
    expect(trash.uidValidity).toBe(trashBefore.uidValidity);
    const p = (await stored(server, played.id))!;
    const f = (await stored(server, fresh.id))!;
    expect(p).toMatchObject({ state: 'deleted', deletedFrom: 'old', folder: 'trash' });
    expect(f).toMatchObject({ state: 'deleted', deletedFrom: 'new', folder: 'trash' });
    for (const m of [p, f]) expect(m.uid).toBeGreaterThanOrEqual(trashBefore.uidNext);
    expect(trash.flags).toEqual(
      new Map([
        [p.uid, [SEEN]],
        [f.uid, []],
      ]),
    );
    const deleted = (await server.context.messages.list(box.id, 'deleted')).map((m) => m.id);
    expect(deleted.sort()).toEqual([played.id, fresh.id].sort());
  });

  it('UID EXPUNGE (UIDPLUS) moves only the UIDs named', async () => {
    const { box, seen } = await watched();
    const a = (await deposit(server, box.name)).message;
    const b = (await deposit(server, box.name)).message;
    const client = await connected(server, box.name);
    try {
      await client.mailboxOpen('INBOX');
      await client.messageFlagsAdd(`${a.uid},${b.uid}`, [DELETED], { uid: true });
      // imapflow's messageDelete is +FLAGS \Deleted then UID EXPUNGE of the range.
      expect(await client.messageDelete(String(a.uid), { uid: true })).toBe(true);
    } finally {
      await client.logout();
    }
    expect((await stored(server, a.id))!.folder).toBe('trash');
    expect(await stored(server, b.id)).toMatchObject({ folder: 'inbox', state: 'deleted' });
    expect(flagsOf(await seen.view('INBOX'), b.uid)).toEqual([DELETED]);
  });

  it('MOVE INBOX -> Trash deletes, MOVE Trash -> INBOX undeletes; COPYUID names the new UIDs', async () => {
    const { box, seen } = await watched();
    const { message } = await deposit(server, box.name);
    await server.context.messages.act(box.id, message.id, 'save');
    const client = await connected(server, box.name);
    try {
      await client.mailboxOpen('INBOX');
      const toTrash = await client.messageMove(String(message.uid), 'Trash', { uid: true });
      expect(toTrash).not.toBe(false);
      const inTrash = (await stored(server, message.id))!;
      expect(inTrash).toMatchObject({ state: 'deleted', deletedFrom: 'saved', folder: 'trash' });
      const trash = await seen.view('Trash');
      expect(present(toTrash).uidValidity).toBe(trash.uidValidity);
      expect([...present(toTrash).uidMap!]).toEqual([[message.uid, inTrash.uid]]);
      expect(flagsOf(trash, inTrash.uid)).toEqual([FLAGGED, SEEN]);
      expect((await seen.view('INBOX')).flags.has(message.uid)).toBe(false);

      await client.mailboxOpen('Trash');
      const back = await client.messageMove(String(inTrash.uid), 'INBOX', { uid: true });
      const inInbox = (await stored(server, message.id))!;
      expect(inInbox).toMatchObject({ state: 'saved', deletedFrom: null, folder: 'inbox' });
      // Back in the inbox it is a new arrival there: a UID never used before.
      expect(inInbox.uid).toBeGreaterThan(message.uid);
      const inbox = await seen.view('INBOX');
      expect(present(back).uidValidity).toBe(inbox.uidValidity);
      expect([...present(back).uidMap!]).toEqual([[inTrash.uid, inInbox.uid]]);
      expect(flagsOf(inbox, inInbox.uid)).toEqual([FLAGGED, SEEN]);
      expect((await seen.view('Trash')).flags.size).toBe(0);
    } finally {
      await client.logout();
    }
  });

  it('MOVE of a message deleted elsewhere back to INBOX restores its state', async () => {
    const { box, seen } = await watched();
    const { message } = await deposit(server, box.name);
    // Deleted on the phone: it goes to Trash with no \Deleted flag there.
    const deleted = await server.context.messages.act(box.id, message.id, 'delete');
    expect(deleted.folder).toBe('trash');
    expect(flagsOf(await seen.view('Trash'), deleted.uid)).toEqual([]);
    const client = await connected(server, box.name);
    try {
      await client.mailboxOpen('Trash');
      const moved = await client.messageMove(String(deleted.uid), 'INBOX', { uid: true });
      expect(present(moved).uidMap!.size).toBe(1);
    } finally {
      await client.logout();
    }
    const now = (await stored(server, message.id))!;
    expect(now).toMatchObject({ state: 'new', folder: 'inbox' });
    expect(flagsOf(await seen.view('INBOX'), now.uid)).toEqual([]);
  });

  it('\\Deleted + EXPUNGE in Trash purges: gone from the store, the audio file removed', async () => {
    const { box, seen } = await watched();
    const { message } = await deposit(server, box.name);
    const inTrash = await server.context.messages.act(box.id, message.id, 'delete');
    const audio = server.context.audio;
    expect(await audio.size(message.audio.key)).toBe(message.audio.bytes);

    const client = await connected(server, box.name);
    try {
      await client.mailboxOpen('Trash');
      expect(await flagsAfterStore(client, inTrash.uid, 'add', DELETED)).toEqual([DELETED]);
      expect(await stored(server, message.id)).toMatchObject({
        state: 'deleted',
        deletedFrom: 'new',
        markedForPurge: true,
      });
      expect(flagsOf(await seen.view('Trash'), inTrash.uid)).toEqual([DELETED]);
      // Clearing the mark keeps it.
      expect(await flagsAfterStore(client, inTrash.uid, 'remove', DELETED)).toEqual([]);
      expect((await stored(server, message.id))!.markedForPurge).toBe(false);

      expect(await client.messageDelete(String(inTrash.uid), { uid: true })).toBe(true);
    } finally {
      await client.logout();
    }
    expect(await stored(server, message.id)).toBeNull();
    await expect(audio.size(message.audio.key)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect((await seen.view('Trash')).flags.size).toBe(0);
    expect(await server.context.messages.list(box.id, 'deleted')).toEqual([]);
  });

  it('plain EXPUNGE in Trash purges only the messages marked \\Deleted', async () => {
    const { box, seen } = await watched();
    const a = (await deposit(server, box.name)).message;
    const b = (await deposit(server, box.name)).message;
    const ta = await server.context.messages.act(box.id, a.id, 'delete');
    const tb = await server.context.messages.act(box.id, b.id, 'delete');
    const raw = await rawLogin(server.ports.imaps, box.name, '1234');
    try {
      await raw.command('SELECT Trash');
      expect((await raw.command(`UID STORE ${ta.uid} +FLAGS.SILENT (\\Deleted)`)).status).toBe(
        'OK',
      );
      const reply = await raw.command('EXPUNGE');
      expect(reply.status).toBe('OK');
      expect(reply.untagged).toEqual(['1 EXPUNGE']);
    } finally {
      raw.close();
    }
    expect(await stored(server, a.id)).toBeNull();
    expect(await stored(server, b.id)).toMatchObject({ state: 'deleted', folder: 'trash' });
    expect([...(await seen.view('Trash')).flags.keys()]).toEqual([tb.uid]);
  });

  // RFC 3501 6.4.6 and 7.4.2: .SILENT spares only the flags the client asked for.
  it('.SILENT still reports the flags the server set besides those asked for', async () => {
    const box = await newMailbox(server);
    const { message } = await deposit(server, box.name);
    const raw = await rawLogin(server.ports.imaps, box.name, '1234');
    try {
      await raw.command('SELECT INBOX');
      // Saving an unread voicemail plays it: \Seen comes with \Flagged.
      const saved = await raw.command(`UID STORE ${message.uid} +FLAGS.SILENT (\\Flagged)`);
      expect(saved.status).toBe('OK');
      expect(saved.untagged).toEqual([`1 FETCH (UID ${message.uid} FLAGS (\\Seen \\Flagged))`]);
      // Exactly what was asked: nothing to report.
      const unflagged = await raw.command(`UID STORE ${message.uid} -FLAGS.SILENT (\\Flagged)`);
      expect(unflagged.untagged).toEqual([]);
      // A keyword is not kept: the client learns its flags did not change.
      const keyword = await raw.command(`UID STORE ${message.uid} +FLAGS.SILENT ($Label1)`);
      expect(keyword.untagged).toEqual([`1 FETCH (UID ${message.uid} FLAGS (\\Seen))`]);
    } finally {
      raw.close();
    }
  });
});

describe('UIDs and UIDVALIDITY', () => {
  it('stay the same across sessions for messages that stay put, whatever their flags', async () => {
    const box = await newMailbox(server);
    const a = (await deposit(server, box.name)).message;
    const b = (await deposit(server, box.name)).message;
    const first = await folderView(server, box.name, 'INBOX');
    const firstTrash = await folderView(server, box.name, 'Trash');
    expect([...first.flags.keys()]).toEqual([a.uid, b.uid]);

    const client = await connected(server, box.name);
    try {
      await client.mailboxOpen('INBOX');
      await client.messageFlagsAdd(String(a.uid), [FLAGGED], { uid: true });
      await client.messageFlagsAdd(String(b.uid), [DELETED], { uid: true });
      await client.messageFlagsRemove(String(b.uid), [DELETED], { uid: true });
    } finally {
      await client.logout();
    }
    await server.context.messages.act(box.id, a.id, 'markUnread');

    const second = await folderView(server, box.name, 'INBOX');
    expect(second.uidValidity).toBe(first.uidValidity);
    expect([...second.flags.keys()]).toEqual([a.uid, b.uid]);
    expect((await folderView(server, box.name, 'Trash')).uidValidity).toBe(firstTrash.uidValidity);
  });

  it('stay the same after the server restarts on the same data', async () => {
    const dir = server.dir;
    const box = await newMailbox(server);
    const a = (await deposit(server, box.name)).message;
    const before = await folderView(server, box.name, 'INBOX');
    const beforeTrash = await folderView(server, box.name, 'Trash');
    await server.close();
    const loaded = loadConfig(server.configFile, [
      'http.port=0',
      'imap.port=0',
      'imap.tlsPort=0',
      'sip.port=0',
      'smtp.port=0',
      'log.level=silent',
    ]);
    const restarted = await startServer(loaded, createLogger('silent'));
    server = Object.assign(restarted, {
      dir,
      configFile: server.configFile,
      async stop() {
        await restarted.close();
        rmSync(dir, { recursive: true, force: true });
      },
    });
    const after = await folderView(server, box.name, 'INBOX');
    expect(after.uidValidity).toBe(before.uidValidity);
    expect(after.flags.get(a.uid)).toEqual([]);
    expect([...after.flags.keys()]).toEqual([...before.flags.keys()]);
    expect(after.uidNext).toBe(before.uidNext);
    expect((await folderView(server, box.name, 'Trash')).uidValidity).toBe(beforeTrash.uidValidity);
  });
});
