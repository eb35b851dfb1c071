import { ImapFlow } from 'imapflow';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort, udpListening } from '../helpers/free-port.ts';
import { runSipp } from '../helpers/sipp.ts';
import { startTestServer, type TestServer } from '../helpers/test-server.ts';
import { phoneServer, wavFile } from './phone-kit.ts';
import { received, scenario, sippTrace } from './sipp-kit.ts';

/** A lamp must follow a change within a second. */
const LAMP_LIMIT_MS = 1000;

describe('message waiting lamps seen by SIPp', { timeout: 60_000 }, () => {
  let server: TestServer | undefined;
  let imap: ImapFlow | undefined;

  afterEach(async () => {
    await imap?.logout().catch(() => {});
    imap = undefined;
    await server?.stop();
    server = undefined;
  });

  it('a subscribed phone hears 0/0, then 1/0 after a deposit, then 0/1 after IMAP \\Seen', async () => {
    // SIPp answers no digest challenge: 127.0.0.1 stands for a trusted PBX here.
    server = await phoneServer(['sip.trustedPeers=[127.0.0.1/32]']);
    const trace = sippTrace();
    const run = runSipp(scenario('mwi-subscriber.xml'), `127.0.0.1:${server.ports.sip}`, {
      service: '201',
      args: trace.args,
    });
    await received(trace, /^NOTIFY [\s\S]*Voice-Message: 0\/0/m);

    const deposited = Date.now();
    await server.context.messages.deposit({
      mailbox: 'alice',
      audio: wavFile(server.dir, 'message', 700, 2),
      callerNumber: '5550133',
    });
    const lit = await received(trace, /^NOTIFY [\s\S]*Voice-Message: 1\/0/m);
    expect(lit.at - deposited).toBeLessThan(LAMP_LIMIT_MS);

    imap = new ImapFlow({
      host: '127.0.0.1',
      port: server.ports.imaps,
      secure: true,
      tls: { rejectUnauthorized: false },
      auth: { user: 'alice', pass: '1234' },
      logger: false,
    });
    await imap.connect();
    await imap.mailboxOpen('INBOX');
    const seen = Date.now();
    await imap.messageFlagsAdd('1:*', ['\\Seen']);
    const off = await received(trace, /^NOTIFY [\s\S]*Voice-Message: 0\/1/m);
    expect(off.at - seen).toBeLessThan(LAMP_LIMIT_MS);

    // SIPp checked each NOTIFY's Event and Messages-Waiting, and the unsubscribe.
    const done = await run;
    expect(done.code, done.log).toBe(0);
  });

  it('a PBX gets unsolicited NOTIFYs: lamp off for a new mailbox, 1/0 after a deposit', async () => {
    const pbxPort = await freePort();
    // No mailbox yet, so no lamp to report before SIPp listens.
    server = await startTestServer([
      `sip.pbx.uri=sip:127.0.0.1:${pbxPort}`,
      'sip.pbx.unsolicitedMwi=true',
    ]);
    const trace = sippTrace();
    const run = runSipp(scenario('mwi-pbx.xml'), `127.0.0.1:${server.ports.sip}`, {
      port: pbxPort,
      calls: 2,
      args: trace.args,
    });
    await udpListening(pbxPort); // SIPp answers the NOTIFYs there
    await server.context.mailboxes.add({ name: 'alice', extension: '201' }, '1234');
    const off = await received(trace, /^NOTIFY sip:201@[\s\S]*Voice-Message: 0\/0/m);
    expect(off.text).toMatch(/Messages-Waiting: no/);

    const deposited = Date.now();
    await server.context.messages.deposit({
      mailbox: 'alice',
      audio: wavFile(server.dir, 'message', 700, 2),
      callerNumber: '5550133',
    });
    const lit = await received(trace, /^NOTIFY sip:201@[\s\S]*Voice-Message: 1\/0/m);
    expect(lit.text).toMatch(/^Event: message-summary/m);
    expect(lit.text).toMatch(/Messages-Waiting: yes/);
    expect(lit.at - deposited).toBeLessThan(LAMP_LIMIT_MS);
    // SIPp answered both with 200 and checked their Event header.
    const done = await run;
    expect(done.code, done.log).toBe(0);
  });
});
