import { readFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Baresip } from '../helpers/baresip.ts';
import { toneRatio } from '../helpers/goertzel.ts';
import type { WatchedServer } from '../helpers/test-server.ts';
import { folderView, imapClient } from '../imap/imapflow-kit.ts';
import {
  bestToneRatio,
  phoneServer,
  samplesOf,
  SIP_PASSWORDS,
  toneFile,
  until,
  wavFile,
  webLogin,
} from './phone-kit.ts';

describe('an owner collects messages by phone (baresip)', { timeout: 120_000 }, () => {
  let server: WatchedServer;
  let phone: Baresip | undefined;
  let quiet: string;

  beforeEach(async () => {
    // Three wrong codes lock the mailbox, so the phone's two and one more elsewhere do.
    server = await phoneServer(['http.tls=false', 'policy.lockout.failures=3']);
    // The phone says nothing, for longer than any call here (aufile hangs up at its end).
    quiet = toneFile(server.dir, 'quiet', 1000, 0.1, 0, 40);
  }, 120_000);
  afterEach(async () => {
    await phone?.stop();
    phone = undefined;
    await server.stop();
  });

  const alice = () => server.context.mailboxes.resolve('alice');
  const stateOf = async (id: string): Promise<string> =>
    (await server.context.messages.get((await alice()).id, id)).state;

  it('from its own registered phone (digest): 1 plays the new ones, 7 saves, 3 deletes; IMAP and the web agree', async () => {
    const deposit = async (frequency: number, ageMs: number) =>
      (
        await server.context.messages.deposit({
          mailbox: 'alice',
          audio: wavFile(server.dir, `m${frequency}`, frequency, 2),
          receivedAt: Date.now() - ageMs,
        })
      )[0]!;
    // Played oldest first (housekeeping.playbackOrder fifo).
    const first = await deposit(600, 60_000);
    const second = await deposit(800, 30_000);

    // The owner's phone registers with its SIP credentials, then calls its own mailbox: the
    // server challenges the INVITE, the phone answers with them, and no code is asked.
    const registrar = `sip:127.0.0.1:${server.ports.sip}`;
    phone = await Baresip.start({
      voice: quiet,
      user: '201',
      registrar,
      password: SIP_PASSWORDS.alice,
    });
    await phone.waitFor(/201.*200 OK|registered/i, 60_000);
    phone.dial(`sip:201@127.0.0.1:${server.ports.sip}`);
    await phone.waitFor(/Call established/, 60_000);
    await phone.waitAudio();
    await server.logs.collecting('main-menu'); // after "you have 2 new messages..."
    phone.type('1'); // cuts the main menu short
    // The first message's header, then the message itself played through: it is old.
    await until('the first message has played', async () => (await stateOf(first.id)) === 'old');
    phone.type('7'); // save, cutting the options prompt short; then the second message
    await until('the first message is saved', async () => (await stateOf(first.id)) === 'saved');
    phone.type('3'); // delete, typed during "message saved" or the second header
    await until(
      'the second message is deleted',
      async () => (await stateOf(second.id)) === 'deleted',
    );
    phone.type('b');
    await phone.waitFor(/terminated|closed/i, 10_000);

    const heard = samplesOf(readFileSync(phone.heard()));
    expect(bestToneRatio(heard, 600, toneRatio)).toBeGreaterThan(0.8);

    // A mail client: the saved message is \Flagged (and \Seen) in INBOX, the deleted one in Trash.
    const inbox = await folderView(server, 'alice', 'INBOX');
    expect([...inbox.flags.entries()]).toEqual([[first.uid, ['\\Flagged', '\\Seen']]]);
    expect((await folderView(server, 'alice', 'Trash')).flags.size).toBe(1);

    // The web app, logged in.
    const web = await webLogin(server, 'alice', '1234');
    const list = (await (await web.call('GET', '/api/messages')).json()) as {
      counts: Record<string, number>;
      messages: { id: string; state: string }[];
    };
    expect(list.counts).toEqual({ new: 0, old: 0, saved: 1, deleted: 1 });
    expect(list.messages.map((m) => [m.id, m.state])).toEqual([[first.id, 'saved']]);
    const deleted = (await (await web.call('GET', '/api/messages?folder=deleted')).json()) as {
      messages: { id: string; state: string }[];
    };
    expect(deleted.messages.map((m) => [m.id, m.state])).toEqual([[second.id, 'deleted']]);
  });

  it("the owner's number from a phone without credentials is only a claim: the code is asked", async () => {
    // Bob's mailbox has no SIP credentials, so his extension is never challenged: a call
    // "from 202" reaches his log-in, and the code decides.
    await server.context.mailboxes.setSipPassword(
      'bob',
      null,
      server.context.loaded.config.server.domain,
    );
    phone = await Baresip.start({ voice: quiet, user: '202' });
    phone.dial(`sip:202@127.0.0.1:${server.ports.sip}`);
    await phone.waitFor(/Call established/, 60_000);
    await phone.waitAudio();
    await server.logs.collecting('enter-code');
    phone.type('9999#'); // a wrong code, counted like any other
    await until(
      'the wrong code is counted',
      async () => (await server.context.mailboxes.resolve('bob')).failedLogins === 1,
    );
    phone.type('b');
    await phone.waitFor(/terminated|closed/i, 10_000);
  });

  it('from any phone at access number 800: mailbox, code, then the summary and menu', async () => {
    const [message] = await server.context.messages.deposit({
      mailbox: 'alice',
      audio: wavFile(server.dir, 'message', 600, 2),
    });
    phone = await Baresip.start({ voice: quiet, user: '5550000' });
    phone.dial(`sip:800@127.0.0.1:${server.ports.sip}`);
    await phone.waitFor(/Call established/, 60_000);
    await phone.waitAudio();
    await server.logs.collecting('enter-mailbox');
    phone.type('201#'); // cuts "enter your mailbox number" short
    await server.logs.collecting('enter-code');
    phone.type('1234#');
    // Logged in, the summary plays, then the main menu; 1 goes to the header.
    await server.logs.collecting('main-menu');
    phone.type('1');
    await until(
      'the message header has played',
      async () => (await stateOf(message!.id)) !== 'new',
    );
    phone.type('b');
    await phone.waitFor(/terminated|closed/i, 10_000);
    expect((await alice()).failedLogins).toBe(0);
  });

  it('puts a wrong code then the right one at 800 on the audit trail: phone, mailbox, address, reason', async () => {
    phone = await Baresip.start({ voice: quiet, user: '5550000' });
    phone.dial(`sip:800@127.0.0.1:${server.ports.sip}`);
    await phone.waitFor(/Call established/, 60_000);
    await phone.waitAudio();
    await server.logs.collecting('enter-mailbox');
    phone.type('201#');
    await server.logs.collecting('enter-code');
    phone.type('9999#');
    await until('the wrong code is counted', async () => (await alice()).failedLogins === 1);
    // "login incorrect, please try again" drops keys typed over it; then the mailbox is asked.
    await server.logs.collecting('enter-mailbox');
    phone.type('201#');
    await server.logs.collecting('enter-code');
    phone.type('1234#');
    await until('the right code is taken', async () => (await alice()).failedLogins === 0);
    phone.type('b');
    await phone.waitFor(/terminated|closed/i, 10_000);

    const records = await server.context.store.queryAudit({
      mailbox: 'alice',
      kind: 'login',
      limit: 5,
    });
    expect(records.map((r) => [r.channel, r.principal, r.mailbox, r.outcome, r.reason])).toEqual([
      ['phone', 'mailbox:alice', 'alice', 'success', null],
      ['phone', null, 'alice', 'failure', 'wrong code'],
    ]);
    // The address the call came from (baresip on loopback), never the code typed.
    for (const r of records) {
      expect(r.client).toMatch(/^(::ffff:)?127\.0\.0\.1(:\d+)?$/);
      expect(JSON.stringify(r)).not.toMatch(/9999|1234/);
    }
  });

  it('counts two wrong codes at 800 in the lockout that IMAP and the web share', async () => {
    phone = await Baresip.start({ voice: quiet, user: '5550000' });
    phone.dial(`sip:800@127.0.0.1:${server.ports.sip}`);
    await phone.waitFor(/Call established/, 60_000);
    await phone.waitAudio();
    for (const failures of [1, 2]) {
      // After a wrong code, "login incorrect, please try again" drops keys typed over it; then
      // the mailbox is asked again.
      await server.logs.collecting('enter-mailbox');
      phone.type('201#');
      await server.logs.collecting('enter-code');
      phone.type('9999#');
      await until(
        `${failures} failures are counted`,
        async () => (await alice()).failedLogins === failures,
      );
    }
    phone.type('b');
    await phone.waitFor(/terminated|closed/i, 10_000);

    // A third wrong code, on the web, locks the mailbox for every channel (refused like any
    // wrong code, so no answer says it is locked): the right code no longer opens it.
    const web = await fetch(`${server.urls.http}/api/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ mailbox: 'alice', code: '0000' }),
    });
    expect(web.status).toBe(401);
    expect((await alice()).failedLogins).toBeGreaterThanOrEqual(3);
    const imap = imapClient(server, 'alice', '1234');
    await expect(imap.connect()).rejects.toThrow();
    imap.close();
  });
});
