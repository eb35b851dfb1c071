/**
 * What IMAP refuses, and that each refusal says why: no APPEND (voicemail is not injected by
 * mail clients), no folder changes, no COPY; unknown folders; wrong codes, the lockout shared
 * with every other channel, mailboxes without UMS access, and logins in plain text.
 */
import type { ImapFlow } from 'imapflow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isVoicegateError } from '../../server/domain/errors.ts';
import { toneWav } from '../../server/media/tone.ts';
import { startTestServer, type TestServer } from '../helpers/test-server.ts';
import { CODE, connected, deposit, imapClient, newMailbox, stored } from './imapflow-kit.ts';
import { RawImap, quote, rawLogin } from './imapflow-raw.ts';

const WRONG = '9999';

let server: TestServer;
let box: { id: number; name: string };
let client: ImapFlow;
beforeAll(async () => {
  // Far more wrong codes than one address may send come from this one client; the per-address
  // throttle has tests of its own (imap-lockout, web-lockout).
  server = await startTestServer(['policy.lockout.perAddressFailures=1000']);
  box = await newMailbox(server);
  client = await connected(server, box.name);
});
afterAll(async () => {
  await client?.logout();
  await server?.stop();
});

interface ImapError {
  responseText?: string;
  serverResponseCode?: string;
  authenticationFailed?: boolean;
  response?: string;
}

async function failure(p: Promise<unknown>): Promise<ImapError> {
  try {
    await p;
  } catch (err) {
    return err as ImapError;
  }
  throw new Error('expected the command to be refused');
}

const FIXED = 'Voicemail folders are fixed (INBOX and Trash)';

describe('commands that would change folders or inject mail', () => {
  it('APPEND is refused: voicemail does not arrive by IMAP', async () => {
    const before = await server.context.messages.list(box.id);
    const message = 'From: a@b.c\r\nTo: d@e.f\r\nSubject: fake voicemail\r\n\r\nhello\r\n';
    for (const folder of ['INBOX', 'Trash']) {
      const err = await failure(client.append(folder, message));
      expect(err.serverResponseCode).toBe('CANNOT');
      expect(err.responseText).toBe(
        'Voicemail arrives by phone, e-mail or the web, not by IMAP APPEND',
      );
    }
    expect(await server.context.messages.list(box.id)).toEqual(before);
  });

  it('CREATE is refused, saying the folders are fixed', async () => {
    for (const name of ['Archive', 'INBOX/Sub', 'Trash']) {
      const err = await failure(client.mailboxCreate(name));
      expect(err.responseText, name).toBe(`${FIXED}; new folders cannot be created`);
    }
    expect((await client.list()).map((f) => f.path).sort()).toEqual(['INBOX', 'Trash']);
  });

  it('RENAME is refused, saying the folders are fixed', async () => {
    for (const [from, to] of [
      ['INBOX', 'Old'],
      ['Trash', 'Deleted Items'],
      ['Archive', 'Other'],
    ]) {
      const err = await failure(client.mailboxRename(from!, to!));
      expect(err.responseText, from).toBe(`${FIXED} and cannot be renamed`);
    }
    expect((await client.list()).map((f) => f.path).sort()).toEqual(['INBOX', 'Trash']);
  });

  it('DELETE of INBOX, Trash or anything else is refused, saying the folders are fixed', async () => {
    const { message } = await deposit(server, box.name);
    for (const name of ['INBOX', 'Trash', 'Archive']) {
      const err = await failure(client.mailboxDelete(name));
      expect(err.responseText, name).toBe(`${FIXED} and cannot be deleted`);
    }
    expect((await client.list()).map((f) => f.path).sort()).toEqual(['INBOX', 'Trash']);
    expect(await stored(server, message.id)).toMatchObject({ state: 'new', folder: 'inbox' });
  });

  it('COPY is refused with its reason, and the message stays as it was', async () => {
    const { message } = await deposit(server, box.name);
    const raw = await rawLogin(server.ports.imaps, box.name, CODE);
    try {
      await raw.command('SELECT INBOX');
      for (const cmd of [`UID COPY ${message.uid} Trash`, `UID COPY ${message.uid} INBOX`]) {
        const reply = await raw.command(cmd);
        expect(reply.status, cmd).toBe('NO');
        expect(reply.text, cmd).toBe(
          '[CANNOT] Voicemail is moved, not copied: use MOVE, or \\Deleted and EXPUNGE to move it to Trash',
        );
      }
    } finally {
      raw.close();
    }
    await client.mailboxOpen('INBOX');
    expect(await client.messageCopy(String(message.uid), 'Trash', { uid: true })).toBe(false);
    expect(await stored(server, message.id)).toMatchObject({
      state: 'new',
      folder: 'inbox',
      uid: message.uid,
    });
  });

  it('SELECT or EXAMINE of an unknown folder is NO [NONEXISTENT]', async () => {
    const raw = await rawLogin(server.ports.imaps, box.name, CODE);
    try {
      for (const cmd of ['SELECT Archive', 'EXAMINE "Deleted Items"', 'SELECT INBOX/Sub']) {
        const reply = await raw.command(cmd);
        expect(reply.status, cmd).toBe('NO');
        expect(reply.code, cmd).toBe('NONEXISTENT');
      }
    } finally {
      raw.close();
    }
    const err = await failure(client.mailboxOpen('Archive'));
    expect(err.serverResponseCode).toBe('NONEXISTENT');
  });
});

describe('login', () => {
  it('a wrong code is NO [AUTHENTICATIONFAILED], and so is an unknown mailbox', async () => {
    const target = await newMailbox(server);
    const err = await failure(imapClient(server, target.name, WRONG).connect());
    expect(err.authenticationFailed).toBe(true);
    expect(err.serverResponseCode).toBe('AUTHENTICATIONFAILED');
    const raw = await RawImap.connect(server.ports.imaps);
    try {
      const wrong = await raw.command(`LOGIN ${quote(target.name)} ${WRONG}`);
      const unknown = await raw.command(`LOGIN nosuchbox ${WRONG}`);
      expect(wrong.status).toBe('NO');
      expect(wrong.code).toBe('AUTHENTICATIONFAILED');
      // Nothing tells a guesser whether the mailbox exists.
      expect(unknown.text).toBe(wrong.text);
    } finally {
      raw.close();
    }
  });

  it('5 wrong codes over IMAP lock the mailbox for IMAP and the web alike', async () => {
    const target = await newMailbox(server);
    // Four wrong codes, then the right one: still fine, and the count starts over.
    for (let round = 0; round < 2; round++) {
      const raw = await RawImap.connect(server.ports.imaps);
      try {
        for (let i = 0; i < 4; i++) {
          const reply = await raw.command(`LOGIN ${quote(target.name)} ${WRONG}`);
          expect(reply.code).toBe('AUTHENTICATIONFAILED');
        }
        expect((await raw.command(`LOGIN ${quote(target.name)} ${CODE}`)).status).toBe('OK');
      } finally {
        raw.close();
      }
    }
    const raw = await RawImap.connect(server.ports.imaps);
    try {
      for (let i = 0; i < 5; i++) await raw.command(`LOGIN ${quote(target.name)} ${WRONG}`);
      const right = await raw.command(`LOGIN ${quote(target.name)} ${CODE}`);
      expect(right.status).toBe('NO');
      expect(right.code).toBe('AUTHENTICATIONFAILED');
      expect(right.text).toMatch(/refused for a while/);
    } finally {
      raw.close();
    }
    // imapflow (AUTHENTICATE PLAIN) is refused too.
    const err = await failure(imapClient(server, target.name).connect());
    expect(err.authenticationFailed).toBe(true);
    expect(err.response).toMatch(/refused for a while/);
    const web = await failure(
      server.context.mailboxes.authenticate(target.name, CODE, { channel: 'web', remote: '::1' }),
    );
    expect(isVoicegateError(web, 'AUTH_FAILED')).toBe(true);
  });

  it('5 wrong codes on the web lock IMAP too', async () => {
    const target = await newMailbox(server);
    for (let i = 0; i < 5; i++) {
      await failure(
        server.context.mailboxes.authenticate(target.name, WRONG, {
          channel: 'web',
          remote: '192.0.2.1',
        }),
      );
    }
    const raw = await RawImap.connect(server.ports.imaps);
    try {
      const reply = await raw.command(`LOGIN ${quote(target.name)} ${CODE}`);
      expect(reply.status).toBe('NO');
      expect(reply.code).toBe('AUTHENTICATIONFAILED');
      expect(reply.text).toMatch(/refused for a while/);
    } finally {
      raw.close();
    }
  });

  it('a mailbox without UMS access cannot log in over IMAP, even with the right code', async () => {
    const target = await newMailbox(server, { umsAccess: false });
    const err = await failure(imapClient(server, target.name).connect());
    expect(err.authenticationFailed).toBe(true);
    const raw = await RawImap.connect(server.ports.imaps);
    try {
      const reply = await raw.command(`LOGIN ${quote(target.name)} ${CODE}`);
      expect(reply.status).toBe('NO');
      expect(reply.text).toMatch(/no access from mail clients/);
    } finally {
      raw.close();
    }
  });

  // imapflow, Thunderbird and Apple Mail log in with AUTHENTICATE PLAIN (AUTH=PLAIN and SASL-IR
  // are advertised). The lockout and the missing UMS access must carry the same RFC 5530 code
  // there as after LOGIN, so that a client knows the credentials were refused.
  it('AUTHENTICATE PLAIN answers a locked or UMS-less mailbox with the same code as LOGIN', async () => {
    const locked = await newMailbox(server);
    const noUms = await newMailbox(server, { umsAccess: false });
    for (let i = 0; i < 5; i++)
      await failure(
        server.context.mailboxes.authenticate(locked.name, WRONG, { channel: 'web', remote: 'x' }),
      );
    const plain = (user: string): string =>
      `AUTHENTICATE PLAIN ${Buffer.from(`\0${user}\0${CODE}`).toString('base64')}`;
    const raw = await RawImap.connect(server.ports.imaps);
    try {
      for (const [user, code] of [
        [locked.name, 'AUTHENTICATIONFAILED'],
        [noUms.name, 'AUTHORIZATIONFAILED'],
      ] as const) {
        const login = await raw.command(`LOGIN ${quote(user)} ${CODE}`);
        expect(login.text).toMatch(new RegExp(`^\\[${code}\\] `));
        const sasl = await raw.command(plain(user));
        expect(sasl.status, user).toBe('NO');
        expect(sasl.text, user).toBe(login.text);
      }
    } finally {
      raw.close();
    }
    const err = await failure(imapClient(server, locked.name).connect());
    expect(err.serverResponseCode).toBe('AUTHENTICATIONFAILED');
  });

  it('the plain port refuses LOGIN before STARTTLS, and accepts it after', async () => {
    const err = await failure(
      imapClient(server, box.name, CODE, { secure: false, doSTARTTLS: false }).connect(),
    );
    expect(err.authenticationFailed).toBe(true);
    expect(err.responseText).toBe('Run STARTTLS first');
    const raw = await RawImap.connect(server.ports.imap, false);
    try {
      const caps = await raw.command('CAPABILITY');
      expect(caps.untagged[0]).toMatch(/\bSTARTTLS\b/);
      expect(caps.untagged[0]).toMatch(/\bLOGINDISABLED\b/);
      const refused = await raw.command(`LOGIN ${quote(box.name)} ${CODE}`);
      expect(refused.status).not.toBe('OK');
      expect(refused.text).toMatch(/STARTTLS/);
      expect((await raw.startTls()).status).toBe('OK');
      expect((await raw.command(`LOGIN ${quote(box.name)} ${CODE}`)).status).toBe('OK');
    } finally {
      raw.close();
    }
    // imapflow's default on the plain port: STARTTLS, then login.
    const tls = imapClient(server, box.name, CODE, { secure: false });
    await tls.connect();
    expect(tls.secureConnection).toBe(true);
    await tls.logout();
  });
});

describe('capabilities', () => {
  it('advertise only what works: no APPENDLIMIT or XLIST, before or after login', async () => {
    const raw = await RawImap.connect(server.ports.imaps);
    try {
      const before = (await raw.command('CAPABILITY')).untagged[0]!;
      expect(before).toMatch(/\bSPECIAL-USE\b/);
      const login = await raw.command(`LOGIN ${quote(box.name)} ${CODE}`);
      const after = (await raw.command('CAPABILITY')).untagged[0]!;
      expect(after).toMatch(/\bMOVE\b/);
      expect(after).toMatch(/ LITERAL-( |$)/);
      for (const line of [before, login.text, after]) {
        expect(line).not.toMatch(/APPENDLIMIT/);
        expect(line).not.toMatch(/\bXLIST\b/);
      }
      // What it would have promised: APPEND is refused, with the reason.
      const append = await raw.command('APPEND INBOX {3}\r\nabc');
      expect(append.status).toBe('NO');
    } finally {
      raw.close();
    }
  });
});

describe('long command lines', () => {
  it('accepts lines up to 64 KiB (a 30 KB ID, a long UID set) and refuses longer ones', async () => {
    const { message } = await deposit(server, box.name);
    const raw = await rawLogin(server.ports.imaps, box.name, CODE);
    try {
      const id = await raw.command(`ID ("name" "client" "note" ${quote('x'.repeat(30_000))})`);
      expect(id.status).toBe('OK');
      await raw.command('SELECT INBOX');
      // 9,000 UIDs, one of them real: about 50 KB.
      const uids = [...Array.from({ length: 9000 }, (_, i) => 100_000 + 2 * i), message.uid];
      const fetched = await raw.command(`UID FETCH ${uids.join(',')} (FLAGS)`);
      expect(fetched.status).toBe('OK');
      expect(fetched.untagged).toHaveLength(1);
      // Past the bound the line is not read, so its tag is not known: an untagged BAD.
      raw.send(`T1 UID FETCH ${'1,'.repeat(40_000)}1 (FLAGS)`);
      expect(await raw.response()).toBe('* BAD Command line too long');
      // The session goes on.
      expect((await raw.command('NOOP')).status).toBe('OK');
    } finally {
      raw.close();
    }
  });
});

describe('login in plain text when allowed', () => {
  let plain: TestServer;
  beforeAll(async () => {
    plain = await startTestServer(['imap.allowPlaintextAuth=true']);
  });
  afterAll(async () => plain?.stop());

  it('imap.allowPlaintextAuth=true lets a client log in without STARTTLS', async () => {
    const target = await plain.context.mailboxes.add({ name: 'bob', extension: '202' }, CODE);
    await plain.context.messages.deposit({
      mailbox: 'bob',
      audio: toneWav({ seconds: 1 }),
    });
    const c = imapClient(plain, target.name, CODE, { secure: false, doSTARTTLS: false });
    await c.connect();
    try {
      expect(c.secureConnection).toBe(false);
      const box = await c.mailboxOpen('INBOX');
      expect(box.exists).toBe(1);
    } finally {
      await c.logout();
    }
  });
});
