import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Baresip } from '../helpers/baresip.ts';
import { Kamailio } from '../helpers/kamailio.ts';
import type { WatchedServer } from '../helpers/test-server.ts';
import { phoneServer, toneFile, waitForMessages } from './phone-kit.ts';

describe('calls through a record-routing PBX (Kamailio)', { timeout: 120_000 }, () => {
  let server: WatchedServer;
  let pbx: Kamailio | undefined;
  let phone: Baresip | undefined;

  beforeEach(async () => {
    server = await phoneServer();
  }, 120_000);
  afterEach(async () => {
    await phone?.stop();
    await pbx?.stop();
    phone = undefined;
    pbx = undefined;
    await server.stop();
  });

  it("keeps the PBX in the dialog: the server's own BYE follows the route set", async () => {
    pbx = await Kamailio.start(`sip:127.0.0.1:${server.ports.sip}`);
    const voice = toneFile(server.dir, 'voice', 1000, 3, 4, 20);
    phone = await Baresip.start({ voice });
    phone.dial(`sip:201@127.0.0.1:${pbx.port}`);
    await phone.waitFor(/Call established/, 60_000);
    await phone.waitAudio();
    await server.logs.collecting('recording');
    // Its voice: 4 s of quiet, then 3 s of tone; # once the tone has gone out.
    await phone.waitSent(7500);
    phone.type('#'); // ends the recording
    await server.logs.collecting('leave-options');
    phone.type('#'); // sends it; the server says so and hangs up
    await waitForMessages(server, 'alice', 1);
    await phone.waitFor(/terminated|closed/i, 20_000);
    const relayed = pbx.relayed;
    expect(relayed.some((r) => r.startsWith('INVITE sip:201@'))).toBe(true);
    expect(relayed.some((r) => r.startsWith('ACK '))).toBe(true);
    // The server hung up: its BYE, addressed to the phone's contact, went through the proxy.
    expect(relayed).toContainEqual(expect.stringMatching(new RegExp(`^BYE \\S+:${phone.port}`)));
  });
});
