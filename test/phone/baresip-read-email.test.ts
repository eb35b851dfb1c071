import { readFileSync, statSync } from 'node:fs';
import { ImapFlow } from 'imapflow';
import { afterEach, describe, expect, it } from 'vitest';
import { speechParts } from '../../server/flows/voicemail/speech-parts.ts';
import { EspeakSpeech } from '../../server/prompts/speech.ts';
import { Baresip } from '../helpers/baresip.ts';
import { startDovecot, type TestDovecot } from '../helpers/dovecot.ts';
import { clipCorrelation, trimSilence } from '../helpers/prompt-match.ts';
import type { WatchedServer } from '../helpers/test-server.ts';
import { phoneServer, samplesOf, SIP_PASSWORDS, toneFile, until } from './phone-kit.ts';

const PASSWORD = 'alice-imap-secret';
const TEXT = "Agreed, let's keep the budget as it is.";

/** Whether the one e-mail in alice's INBOX is marked read, as a mail client sees it. */
async function seen(port: number): Promise<boolean> {
  const client = new ImapFlow({
    host: '127.0.0.1',
    port,
    secure: false,
    doSTARTTLS: false,
    auth: { user: 'alice', pass: PASSWORD },
    logger: false,
  });
  await client.connect();
  try {
    await client.mailboxOpen('INBOX');
    const m = await client.fetchOne('1', { flags: true });
    return m ? (m.flags?.has('\\Seen') ?? false) : false;
  } finally {
    await client.logout();
  }
}

describe('an owner hears an e-mail by phone (baresip)', { timeout: 120_000 }, () => {
  let server: WatchedServer | undefined;
  let dovecot: TestDovecot | undefined;
  let phone: Baresip | undefined;
  afterEach(async () => {
    await phone?.stop();
    await server?.stop();
    await dovecot?.stop();
  });

  it('key 5 reads the new e-mail: the words synthesised here are found in what the phone heard', async () => {
    const raw = readFileSync(new URL('../fixtures/mailread/3-reply.eml', import.meta.url));
    dovecot = await startDovecot([
      {
        name: 'alice',
        password: PASSWORD,
        inbox: [{ raw, flags: [], internalDate: new Date('2026-11-30T11:30:00Z') }],
      },
    ]);
    // A busy machine (the whole suite on two cores) may keep Dovecot's log-in past the default
    // five seconds; the time limit has its own test (test/mailread/).
    server = await phoneServer(['http.tls=false', 'readEmail.timeoutSeconds=30']);
    await server.context.emailReading.set(
      'alice',
      `imap://alice@127.0.0.1:${dovecot.port}?tls=none`,
      PASSWORD,
    );
    const quiet = toneFile(server.dir, 'quiet', 1000, 0.1, 0, 60);
    phone = await Baresip.start({
      voice: quiet,
      user: '201',
      registrar: `sip:127.0.0.1:${server.ports.sip}`,
      password: SIP_PASSWORDS.alice,
    });
    await phone.waitFor(/201.*200 OK|registered/i, 60_000);
    phone.dial(`sip:201@127.0.0.1:${server.ports.sip}`);
    await phone.waitFor(/Call established/, 60_000);
    await phone.waitAudio();
    await server.logs.collecting('main-menu');
    phone.type('5'); // cuts the main menu short: the new e-mail
    // Heard to its end, the e-mail is marked read on the mail server (and only then: text that
    // could not be made into speech leaves it unread, never a tone in its place).
    await until('the e-mail has been read out', () => seen(dovecot!.port), 60_000);
    // The server sent the text's last packet before marking it read; the phone may still be
    // behind (a busy machine) and holds the last packets in its jitter buffer until more come.
    // Hang up once it has heard four seconds more (the options prompt that follows the text).
    const size = statSync(phone.heard()).size;
    await until(
      'the phone heard what follows',
      () => statSync(phone!.heard()).size > size + 64_000,
      30_000,
    );
    phone.type('b');
    await phone.waitFor(/terminated|closed/i, 10_000);

    const heard = samplesOf(readFileSync(phone.heard()));
    const speech = new EspeakSpeech({
      prompts: { get: () => new Int16Array(0), has: () => false },
    });
    const [part] = speechParts(TEXT);
    expect(part).toBe(TEXT);
    // The call's language: the mailbox's (no Accept-Language), as the server synthesised it.
    const { locale } = await server.context.mailboxes.resolve('alice');
    // The words, without the silence espeak-ng puts around them.
    const local = trimSilence(await speech.say(part!, locale));
    expect(clipCorrelation(heard, local)).toBeGreaterThan(0.8);
    // Words that were not said are not found.
    const other = trimSilence(await speech.say('The meeting moves to Thursday afternoon.', locale));
    expect(clipCorrelation(heard, other)).toBeLessThan(0.6);
  });
});
