import { readFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Baresip } from '../helpers/baresip.ts';
import { toneRatio } from '../helpers/goertzel.ts';
import type { WatchedServer } from '../helpers/test-server.ts';
import { bestToneRatio, phoneServer, samplesOf, toneFile, waitForMessages } from './phone-kit.ts';

describe('a softphone leaves a message (baresip)', { timeout: 120_000 }, () => {
  let server: WatchedServer;
  let phone: Baresip | undefined;

  beforeEach(async () => {
    server = await phoneServer();
  }, 120_000);
  afterEach(async () => {
    await phone?.stop();
    phone = undefined;
    await server.stop();
  });

  it('hears the greeting, and its 1 kHz voice is stored as a message for 201', async () => {
    // Quiet through the greeting and the tone, then 3 s of "voice"; baresip hangs up at the end.
    const voice = toneFile(server.dir, 'voice', 1000, 3, 4, 1);
    phone = await Baresip.start({ voice, user: '5551234' });
    phone.dial(`sip:201@127.0.0.1:${server.ports.sip}`);
    await phone.waitFor(/Call established/);
    await phone.waitFor(/terminated|closed/i, 30_000);

    const [message] = await waitForMessages(server, 'alice', 1);
    expect(message!.callerNumber).toBe('5551234');
    expect(message!.audio.durationMs).toBeGreaterThan(2000);
    const recorded = samplesOf(await server.context.audio.read(message!.audio.key));
    expect(bestToneRatio(recorded, 1000, toneRatio)).toBeGreaterThan(0.8);

    const heard = samplesOf(readFileSync(phone.heard()));
    expect(bestToneRatio(heard, 440, toneRatio)).toBeGreaterThan(0.8);
  });

  it('ends the recording with # and keeps the message', async () => {
    const voice = toneFile(server.dir, 'voice', 1000, 3, 4, 20);
    phone = await Baresip.start({ voice });
    phone.dial(`sip:201@127.0.0.1:${server.ports.sip}`);
    await phone.waitFor(/Call established/, 60_000);
    await phone.waitAudio();
    await server.logs.collecting('recording');
    // Its voice: 4 s of quiet, then 3 s of tone; # once the tone has gone out.
    await phone.waitSent(7500);
    phone.type('#'); // ends the recording
    await server.logs.collecting('leave-options');
    phone.type('#'); // sends it from the review menu
    const [message] = await waitForMessages(server, 'alice', 1);
    expect(message!.audio.durationMs).toBeGreaterThan(2000);
    expect(message!.audio.durationMs).toBeLessThan(6000);
    await phone.waitFor(/terminated|closed/i, 20_000);
  });
});
