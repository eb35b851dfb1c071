import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../server/config/load.ts';
import { WRONG_OR_LOCKED } from '../../server/domain/mailbox-login.ts';
import { createLogger } from '../../server/log.ts';
import { toneWav } from '../../server/media/tone.ts';
import { startServer } from '../../server/server.ts';
import { startTestServer, type TestServer } from '../helpers/test-server.ts';
import { explain, file, messagesFrom, sendWav, swaks } from './smtp-kit.ts';

let authServer: TestServer;
let closedServer: TestServer;
let wav: string;

beforeAll(async () => {
  authServer = await startTestServer([
    'smtp.requireAuth=true',
    'smtp.allowedPeers=[127.0.0.0/8, "::1"]',
  ]);
  await authServer.context.mailboxes.add({ name: 'Alice', extension: '201' }, '1234');
  closedServer = await startTestServer(['smtp.allowedPeers=[10.0.0.0/8]']);
  wav = file('options-tone.wav', toneWav({ seconds: 2 }));
});
afterAll(async () => {
  await authServer?.stop();
  await closedServer?.stop();
});

describe('smtp.requireAuth', () => {
  it('asks for authentication before MAIL', async () => {
    const r = await sendWav(authServer, '201@voicegate.local', wav, '5554001', ['-tls']);
    expect(r.code, explain(r)).toBe(23); // MAIL refused
    expect(r.replies.some((l) => /^530 authentication required/.test(l))).toBe(true);
  });

  it('takes AUTH only after STARTTLS', async () => {
    const r = await sendWav(authServer, '201@voicegate.local', wav, '5554006', [
      '--auth',
      'PLAIN',
      '--auth-user',
      '201',
      '--auth-password',
      '1234',
    ]);
    expect(r.code, explain(r)).toBe(28); // AUTH refused
    expect(r.replies).toContain('538 Error: Must issue a STARTTLS command first');
    const tls = await swaks(authServer, [
      '--to',
      '201@voicegate.local',
      '-tls',
      '--quit-after',
      'EHLO',
    ]);
    expect(tls.replies).toContain('250-AUTH PLAIN LOGIN');
  });

  it('refuses a wrong code with 535 and accepts a mailbox and its code (PLAIN and LOGIN)', async () => {
    const auth = (method: string, user: string, code: string) => [
      '-tls',
      '--auth',
      method,
      '--auth-user',
      user,
      '--auth-password',
      code,
    ];
    const wrong = await sendWav(
      authServer,
      '201@voicegate.local',
      wav,
      '5554002',
      auth('PLAIN', '201', '9999'),
    );
    expect(wrong.code, explain(wrong)).toBe(28); // AUTH refused
    expect(wrong.replies).toContain(`535 ${WRONG_OR_LOCKED}`);

    const plain = await sendWav(
      authServer,
      '201@voicegate.local',
      wav,
      '5554003',
      auth('PLAIN', '201', '1234'),
    );
    expect(plain.code, explain(plain)).toBe(0);
    const login = await sendWav(
      authServer,
      'Alice@voicegate.local',
      wav,
      '5554004',
      auth('LOGIN', 'Alice', '1234'),
    );
    expect(login.code, explain(login)).toBe(0);
    expect((await messagesFrom(authServer, '5554003')).map((f) => f.mailbox)).toEqual(['Alice']);
    expect((await messagesFrom(authServer, '5554004')).map((f) => f.mailbox)).toEqual(['Alice']);
  });
});

describe('smtp.allowedPeers', () => {
  it('turns away a client outside the list with 554 at connect', async () => {
    const r = await sendWav(closedServer, '201@voicegate.local', wav, '5554005');
    expect(r.code, explain(r)).toBe(21); // refused at the banner
    expect(r.replies).toContain('554 this server does not accept mail from your address');
  });
});

describe('starting the SMTP listener', () => {
  it('names smtp.port when the port is taken', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const taken = (blocker.address() as AddressInfo).port;
    const dir = mkdtempSync(join(tmpdir(), 'voicegate-smtp-port-'));
    try {
      writeFileSync(join(dir, 'voicegate.yaml'), 'server:\n  dataDir: .\n');
      const loaded = loadConfig(join(dir, 'voicegate.yaml'), [
        'http.port=0',
        'imap.port=0',
        'imap.tlsPort=0',
        'sip.port=0',
        'sip.rtpPortMin=0',
        'sip.rtpPortMax=0',
        `smtp.port=${taken}`,
        'sip.port=0',
        'sip.rtpPortMin=0',
        'sip.rtpPortMax=0',
      ]);
      await expect(startServer(loaded, createLogger('silent'))).rejects.toThrow(
        `127.0.0.1:${taken} is in use: set smtp.port (or smtp.host) to a free one`,
      );
    } finally {
      blocker.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
