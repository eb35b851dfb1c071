import { readFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Baresip } from '../helpers/baresip.ts';
import { toneRatio } from '../helpers/goertzel.ts';
import type { WatchedServer } from '../helpers/test-server.ts';
import {
  bestToneRatio,
  phoneServer,
  samplesOf,
  toneFile,
  until,
  wavFile,
  webLogin,
  SIP_PASSWORDS,
} from './phone-kit.ts';

describe('play on my phone (baresip)', { timeout: 120_000 }, () => {
  let server: WatchedServer;
  let phone: Baresip | undefined;

  beforeEach(async () => {
    server = await phoneServer(['http.tls=false']);
  }, 120_000);
  afterEach(async () => {
    await phone?.stop();
    phone = undefined;
    await server.stop();
  });

  async function depositTone(): Promise<string> {
    const [message] = await server.context.messages.deposit({
      mailbox: 'alice',
      // No caller number: "an unknown caller" keeps the header, and so the call, short.
      audio: wavFile(server.dir, 'message', 600, 3),
    });
    return message!.id;
  }

  it('rings the registered phone, which hears the 600 Hz message; 7 saves it', async () => {
    // The phone's own voice is silence; it must outlast the call (aufile hangs up at its end).
    const voice = toneFile(server.dir, 'quiet', 1000, 0.1, 0, 40);
    phone = await Baresip.start({
      voice,
      user: '201',
      autoAnswer: true,
      registrar: `sip:127.0.0.1:${server.ports.sip}`,
      password: SIP_PASSWORDS.alice,
    });
    await phone.waitFor(/201@127\.0\.0\.1: .*200 OK.*binding/, 60_000);
    const id = await depositTone();
    const web = await webLogin(server, 'alice', '1234');
    // Registered: the web app is told the phone can be rung before it offers the button.
    const reach = await web.call('GET', '/api/phone-reach');
    expect(await reach.json()).toEqual({ reachable: true, number: '201', reason: null });
    const alice = await server.context.mailboxes.resolve('alice');
    const stateOf = async (): Promise<string> =>
      (await server.context.messages.get(alice.id, id)).state;

    const res = await web.call('POST', `/api/messages/${id}/play-on-phone`, {});
    expect(res.status).toBe(202);
    expect(((await res.json()) as { callId: string }).callId).toBeTruthy();

    await phone.waitFor(/Call established/, 60_000);
    await phone.waitAudio();
    // Header, then the message: once it has played through, the message is old and its
    // options are asked.
    await server.logs.collecting('message-options', 60_000);
    expect(await stateOf()).toBe('old');
    phone.type('7'); // save (MESSAGE_KEYS), cutting the options prompt short
    await until('the message is saved', async () => (await stateOf()) === 'saved', 30_000);
    // Then goodbye, and the server hangs up.
    await phone.waitFor(/terminated|closed/i, 30_000);

    const list = await web.call('GET', '/api/messages');
    const body = (await list.json()) as { messages: { id: string; state: string }[] };
    expect(body.messages.find((m) => m.id === id)?.state).toBe('saved');
    const heard = samplesOf(readFileSync(phone.heard()));
    expect(bestToneRatio(heard, 600, toneRatio)).toBeGreaterThan(0.8);
  });

  it('answers 503 with no phone registered and no PBX, and 403 for a number not the owner’s', async () => {
    const id = await depositTone();
    const web = await webLogin(server, 'alice', '1234');

    const reach = await web.call('GET', '/api/phone-reach');
    expect(await reach.json()).toEqual({ reachable: false, number: '201', reason: 'no-phone' });
    const unavailable = await web.call('POST', `/api/messages/${id}/play-on-phone`, {});
    expect(unavailable.status).toBe(503);
    const why = (await unavailable.json()) as { error: string; message: string };
    expect(why.error).toBe('UNAVAILABLE');
    expect(why.message).toMatch(/no phone is registered for 201.*no PBX/);

    const forbidden = await web.call('POST', `/api/messages/${id}/play-on-phone`, {
      to: '5559999',
    });
    expect(forbidden.status).toBe(403);
    expect(((await forbidden.json()) as { error: string }).error).toBe('FORBIDDEN');
    // Nothing was played: the message is still new.
    const alice = await server.context.mailboxes.resolve('alice');
    expect((await server.context.messages.get(alice.id, id)).state).toBe('new');
  });
});
