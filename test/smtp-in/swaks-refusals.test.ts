import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toneWav } from '../../server/media/tone.ts';
import { startTestServer, type TestServer } from '../helpers/test-server.ts';
import { explain, file, messagesFrom, sendWav, swaks, type SwaksResult } from './smtp-kit.ts';

let server: TestServer;
let wav: string;

beforeAll(async () => {
  // A 1 MB limit, so the oversize test stays small.
  server = await startTestServer(['smtp.maxMessageMB=1']);
  await server.context.mailboxes.add({ name: 'Alice', extension: '201' }, '1234');
  wav = file('refusals-tone.wav', toneWav({ seconds: 2 }));
});
afterAll(async () => server?.stop());

/** swaks' exit status for the refused step and the server's reply to it. */
function refused(r: SwaksResult, exit: number, reply: RegExp): void {
  expect(r.code, explain(r)).toBe(exit);
  expect(
    r.replies.some((l) => reply.test(l)),
    explain(r),
  ).toBe(true);
  expect(r.replies.some((l) => l.startsWith('250 voicemail stored'))).toBe(false);
}

const RCPT_REFUSED = 24;
const DATA_REFUSED = 26;

describe('the SMTP listener refusing mail', () => {
  it('never relays: a recipient of another domain gets 550', async () => {
    const r = await sendWav(server, '201@example.com', wav, '5552001');
    refused(r, RCPT_REFUSED, /^550 .*does not relay/);
    const lookalike = await sendWav(server, '201@voicegate.local.example.com', wav, '5552001');
    refused(lookalike, RCPT_REFUSED, /^550 .*does not relay/);
    expect(await messagesFrom(server, '5552001')).toEqual([]);
  });

  it('refuses an unknown mailbox and an Extn prefix on a name with 550 no such mailbox', async () => {
    refused(
      await sendWav(server, 'nobody@voicegate.local', wav, '5552002'),
      RCPT_REFUSED,
      /^550 no such mailbox/,
    );
    refused(
      await sendWav(server, 'ExtnAlice@voicegate.local', wav, '5552002'),
      RCPT_REFUSED,
      /^550 no such mailbox/,
    );
  });

  it('refuses the server-sync addresses: sync is not enabled here', async () => {
    for (const to of ['vmsyncmaster@voicegate.local', 'VMSyncSlave@voicegate.local']) {
      refused(
        await sendWav(server, to, wav, '5552003'),
        RCPT_REFUSED,
        /^550 .*sync is not enabled on this server/,
      );
    }
  });

  it('refuses a mail without audio: 550 no WAV audio attachment', async () => {
    const r = await swaks(server, ['--to', '201@voicegate.local', '--body', 'call me back']);
    refused(r, DATA_REFUSED, /^550 no WAV audio attachment$/);
  });

  it('refuses a WAV attachment that is no WAV with the parser reason', async () => {
    const fake = file('fake.wav', 'this is not audio at all');
    const r = await sendWav(server, '201@voicegate.local', fake, '5552004');
    refused(r, DATA_REFUSED, /^550 not a WAV file \(no RIFF header\)$/);
  });

  it('refuses a message shorter than the policy minimum with the domain text', async () => {
    const short = file('short.wav', toneWav({ seconds: 0.4 }));
    const r = await sendWav(server, '201@voicegate.local', short, '5552005');
    refused(r, DATA_REFUSED, /^550 message of 0\.4 s is shorter than the minimum of 1 s$/);
  });

  it('refuses a message over smtp.maxMessageMB with 552', async () => {
    const big = file('big.wav', toneWav({ seconds: 80 })); // 1.3 MB, 1.7 MB in base64
    const r = await sendWav(server, '201@voicegate.local', big, '5552006');
    refused(r, DATA_REFUSED, /^552 message exceeds the maximum size of 1 MB$/);
    expect(await messagesFrom(server, '5552006')).toEqual([]);
  });

  it('refuses broken MIME (a multipart whose boundary never comes) with 550', async () => {
    const data = file(
      'broken.eml',
      [
        'From: 5552007@pbx.example',
        'To: 201@voicegate.local',
        'Subject: broken',
        'MIME-Version: 1.0',
        'Content-Type: multipart/mixed; boundary="never-there"',
        '',
        'UklGRiQAAABXQVZFZm10IBAAAAABAAEAQB8AAIA+AAACABAAZGF0YQAAAAA=',
        '',
      ].join('\r\n'),
    );
    const r = await swaks(server, ['--to', '201@voicegate.local', '--data', `@${data}`]);
    refused(r, DATA_REFUSED, /^550 malformed MIME/);
  });

  it('still serves after all these refusals; a refused recipient leaves the others', async () => {
    const r = await sendWav(server, 'nobody@voicegate.local,201@voicegate.local', wav, '5552008');
    expect(r.code, explain(r)).toBe(0);
    expect(r.replies).toContain('550 no such mailbox: nobody@voicegate.local');
    expect(r.replies).toContain('250 voicemail stored');
    expect((await messagesFrom(server, '5552008')).map((f) => f.mailbox)).toEqual(['Alice']);
  });
});
