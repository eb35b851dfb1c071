import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Baresip } from '../helpers/baresip.ts';
import { Kamailio } from '../helpers/kamailio.ts';
import type { TestServer } from '../helpers/test-server.ts';
import { phoneServer, toneFile, waitForMessages } from './phone-kit.ts';

describe('calls through a record-routing PBX (Kamailio)', { timeout: 60_000 }, () => {
  let server: TestServer;
  let pbx: Kamailio | undefined;
  let phone: Baresip | undefined;

  beforeEach(async () => {
    server = await phoneServer();
  });
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
    await phone.waitFor(/Call established/);
    await new Promise((r) => setTimeout(r, 8000));
    phone.type('#'); // ends the recording
    await new Promise((r) => setTimeout(r, 1500));
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
