import { createSocket, type Socket } from 'node:dgram';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { toneWav } from '../../server/media/tone.ts';
import { PROMPT_WAV_DIR } from '../../server/prompts/texts.ts';
import { Baresip } from '../helpers/baresip.ts';
import { clipCorrelation } from '../helpers/prompt-match.ts';
import { startTestServer, type WatchedServer } from '../helpers/test-server.ts';
import { sendWav } from '../smtp-in/smtp-kit.ts';
import { samplesOf, toneFile, until, waitForMessages, webLogin } from './phone-kit.ts';

/** A stand-in PBX at sip.pbx.uri: a UDP socket that only writes down what reaches it. */
async function fakePbx(): Promise<{ port: number; heard: string[]; close(): void }> {
  const socket: Socket = createSocket('udp4');
  const heard: string[] = [];
  socket.on('message', (m) => heard.push(m.toString('latin1')));
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return { port: socket.address().port, heard, close: () => socket.close() };
}

/**
 * A real server on loopback with its log kept: alice (201, code 1234), calls from 127.0.0.1
 * trusted as their caller ID says (so 201 calling skips the code), the PBX at `pbxPort`.
 */
async function dialPlanServer(pbxPort: number, dialPlan: string[]) {
  const server = await startTestServer(
    [
      'http.tls=false',
      "sip.trustedPeers=['127.0.0.0/8']",
      `sip.pbx.uri=sip:127.0.0.1:${pbxPort}`,
      `sip.dialPlan=${JSON.stringify(dialPlan)}`,
    ],
    { watchLogs: true },
  );
  await server.context.mailboxes.add(
    { name: 'alice', extension: '201', trustedNumbers: ['0899123456', '95550100'] },
    '1234',
  );
  return { server, logged: (msg: string) => server.logs.logged(msg) };
}

const prompt = (name: string) => samplesOf(readFileSync(join(PROMPT_WAV_DIR, 'en', `${name}.wav`)));

describe('outgoing calls only where the dial plan allows', { timeout: 120_000 }, () => {
  let server: WatchedServer | undefined;
  let phone: Baresip | undefined;
  let pbx: Awaited<ReturnType<typeof fakePbx>> | undefined;

  afterEach(async () => {
    await phone?.stop();
    await server?.stop();
    pbx?.close();
    phone = server = pbx = undefined;
  });

  /** A voicemail deposited over SMTP (swaks) for 201 with this caller header. */
  async function depositBySmtp(caller: string): Promise<string> {
    const wav = join(server!.dir, 'message.wav');
    writeFileSync(wav, toneWav({ seconds: 2 }));
    const sent = await sendWav(server!, '201@voicegate.local', wav, caller);
    expect(sent.code, sent.stdout + sent.stderr).toBe(0);
    return (await waitForMessages(server!, 'alice', 1))[0]!.id;
  }

  /** 201 calls in, presses 1 (new messages) and, once the message has played, 2 (call back). */
  async function callBack(id: string): Promise<void> {
    const alice = await server!.context.mailboxes.resolve('alice');
    const quiet = toneFile(server!.dir, 'quiet', 1000, 0.1, 0, 60);
    phone = await Baresip.start({ voice: quiet, user: '201' });
    phone.dial(`sip:201@127.0.0.1:${server!.ports.sip}`);
    await phone.waitFor(/Call established/, 60_000);
    await phone.waitAudio();
    await server!.logs.collecting('main-menu');
    phone.type('1'); // new messages: the header, then the message
    await server!.logs.collecting('message-options', 60_000);
    expect((await server!.context.messages.get(alice.id, id)).state).toBe('old');
    phone.type('2');
  }

  it('an SMTP voicemail from sip:premium-rate@evil.example: 2 sends nothing anywhere, says the number cannot be called, counts it', async () => {
    pbx = await fakePbx();
    const started = await dialPlanServer(pbx.port, ['9NXXXXXX']);
    server = started.server;
    const id = await depositBySmtp('sip:premium-rate@evil.example;transport=tcp');

    await callBack(id);
    await until('the refusal is counted', () => server!.phone.dialler.stats().refused === 1);
    // "Calling the sender back", then the refusal, played to its end: the options are asked
    // again. Once the phone has heard a second of them, it has heard all of the refusal.
    await server.logs.collecting('message-options');
    const size = statSync(phone!.heard()).size;
    await until(
      'the phone heard the options again',
      () => statSync(phone!.heard()).size > size + 16_000,
      30_000,
    );
    phone!.type('b');
    await phone!.waitFor(/terminated|closed/i, 10_000);

    // No REFER reached the caller, nothing reached the PBX (nor any other address: the only
    // URI the server could have built goes there).
    expect(phone!.output).not.toMatch(/transferring call|REFER/i);
    expect(pbx.heard).toEqual([]);
    // What an administrator sees.
    const calls = await (await fetch(new URL('/healthz/calls', server.urls.http))).json();
    expect(calls).toMatchObject({ dialAllowed: 0, dialRefused: 1 });
    expect(started.logged('outgoing call refused: not in the dial plan')).toEqual([
      expect.objectContaining({ kind: 'transfer', target: 'premium-rate', reason: 'not-a-number' }),
    ]);
    const heard = samplesOf(readFileSync(phone!.heard()));
    expect(clipCorrelation(heard, prompt('number-not-allowed'))).toBeGreaterThan(0.9);
    expect(clipCorrelation(heard, prompt('callback-failed'))).toBeLessThan(0.6);
  });

  it('a call back to a number the dial plan allows is transferred through the PBX', async () => {
    pbx = await fakePbx();
    const started = await dialPlanServer(pbx.port, ['9NXXXXXX']);
    server = started.server;
    const id = await depositBySmtp('95550100');

    await callBack(id);
    // baresip follows the REFER: its INVITE reaches the PBX for the number.
    await phone!.waitFor(/transferring call \S+ to '<sip:95550100@127\.0\.0\.1:\d+>'/, 30_000);
    await until('the PBX is asked for the number', () =>
      pbx!.heard.some((m) => m.startsWith(`INVITE sip:95550100@127.0.0.1:${pbx!.port} `)),
    );
    expect(server.phone.dialler.stats()).toEqual({ allowed: 1, refused: 0 });
  });

  it('play on my phone to a trusted number outside the dial plan is refused (403), inside it rings through the PBX', async () => {
    pbx = await fakePbx();
    const started = await dialPlanServer(pbx.port, ['9NXXXXXX']);
    server = started.server;
    const [message] = await server.context.messages.deposit({
      mailbox: 'alice',
      audio: toneWav({ seconds: 2 }),
    });
    const web = await webLogin(server, 'alice', '1234');
    const play = (to: string) =>
      web.call('POST', `/api/messages/${message!.id}/play-on-phone`, { to });

    const refused = await play('0899123456');
    expect(refused.status).toBe(403);
    expect(await refused.json()).toEqual({
      error: 'FORBIDDEN',
      message: 'the dial plan does not allow calling 0899123456',
    });
    expect(pbx.heard).toEqual([]);
    expect(server.phone.dialler.stats()).toEqual({ allowed: 0, refused: 1 });
    expect(started.logged('outgoing call refused: not in the dial plan')).toEqual([
      expect.objectContaining({ kind: 'play on phone', target: '0899123456' }),
    ]);

    expect((await play('95550100')).status).toBe(202);
    await until('the PBX is asked for the number', () =>
      pbx!.heard.some((m) => m.startsWith(`INVITE sip:95550100@127.0.0.1:${pbx!.port} `)),
    );
    // The refused number never reached the PBX, before or since.
    expect(pbx.heard.filter((m) => m.includes('0899123456'))).toEqual([]);
    expect(server.phone.dialler.stats()).toEqual({ allowed: 1, refused: 1 });
  });
});
