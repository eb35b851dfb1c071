import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Baresip } from '../helpers/baresip.ts';
import type { TestServer } from '../helpers/test-server.ts';
import { phoneServer, toneFile, wavFile, webLogin, SIP_PASSWORDS } from './phone-kit.ts';

/** One NOTIFY body as baresip's mwi module prints it: the header line, then the summary. */
const lamp = (waiting: 'yes' | 'no', counts: string): RegExp =>
  new RegExp(
    `MWI for sip:201@[^\\n]*\\n(?:[^\\n]*\\n){0,3}?[^\\n]*Messages-Waiting: ${waiting}` +
      `[\\s\\S]{0,200}?Voice-Message: ${counts}`,
  );

describe(
  'the lamp of a registered softphone follows the mailbox (baresip)',
  { timeout: 40_000 },
  () => {
    let server: TestServer;
    let phone: Baresip | undefined;

    beforeEach(async () => {
      server = await phoneServer(['http.tls=false']);
    });
    afterEach(async () => {
      await phone?.stop();
      phone = undefined;
      await server.stop();
    });

    it('lights on a deposit within a second and goes out once the message is saved on the web', async () => {
      const voice = toneFile(server.dir, 'voice', 1000, 1);
      try {
        phone = await Baresip.start({
          voice,
          user: '201',
          registrar: `sip:127.0.0.1:${server.ports.sip}`,
          password: SIP_PASSWORDS.alice,
        });
        // Registered, then subscribed: the first NOTIFY says the mailbox is empty.
        await phone.waitFor(/201@127\.0\.0\.1: .*200 OK.*binding/, 10_000);
        await phone.waitFor(lamp('no', '0/0'), 10_000);

        let mark = phone.output.length;
        const before = Date.now();
        const [message] = await server.context.messages.deposit({
          mailbox: 'alice',
          audio: wavFile(server.dir, 'message', 600, 2),
          callerNumber: '5551234',
        });
        await phone.waitFor(lamp('yes', '1/0'), 1000, mark);
        expect(Date.now() - before).toBeLessThan(1000);

        mark = phone.output.length;
        const web = await webLogin(server, 'alice', '1234');
        const res = await web.call('POST', `/api/messages/${message!.id}/actions`, {
          action: 'save',
        });
        expect(res.status).toBe(200);
        await phone.waitFor(lamp('no', '0/1'), 1000, mark);

        // One subscription, one NOTIFY per change: no re-subscribing (the flood trap) meanwhile.
        expect(phone.output.match(/MWI for/g)).toHaveLength(3);
      } finally {
        await phone?.stop();
      }
    });
  },
);
