import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../server/config/load.ts';
import { createLogger } from '../../server/log.ts';
import { toneWav } from '../../server/media/tone.ts';
import { startServer, type RunningServer } from '../../server/server.ts';
import type { TestServer } from '../helpers/test-server.ts';
import { explain, file, sendWav } from './smtp-kit.ts';

let server: TestServer;
let lines: string[] = [];
let wav: string;
let tone: Buffer;

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'voicegate-smtp-log-'));
  writeFileSync(join(dir, 'voicegate.yaml'), 'server:\n  dataDir: .\n');
  const loaded = loadConfig(join(dir, 'voicegate.yaml'), [
    'http.port=0',
    'imap.port=0',
    'imap.tlsPort=0',
    'smtp.port=0',
    'sip.port=0',
    'sip.rtpPortMin=0',
    'sip.rtpPortMax=0',
  ]);
  const sink = new PassThrough();
  sink.on('data', (d: Buffer) => lines.push(...d.toString().split('\n').filter(Boolean)));
  const running: RunningServer = await startServer(loaded, createLogger('info', sink));
  server = Object.assign(running, {
    dir,
    configFile: join(dir, 'voicegate.yaml'),
    async stop() {
      await running.close();
      rmSync(dir, { recursive: true, force: true });
    },
  });
  await server.context.mailboxes.add({ name: 'Alice', extension: '201' }, '1234');
  tone = Buffer.from(toneWav({ seconds: 2 }));
  wav = file('log-tone.wav', tone);
});
afterAll(async () => server?.stop());

const entries = (msg: string) =>
  lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((e) => e.msg === msg);

describe('what the SMTP listener logs', () => {
  it('logs accepted and refused mail with the envelope, never the body', async () => {
    lines = [];
    expect((await sendWav(server, '201@voicegate.local', wav, '5555001')).code).toBe(0);
    expect((await sendWav(server, 'nobody@voicegate.local', wav, '5555002')).code).toBe(24);
    const [accepted] = entries('mail accepted');
    expect(accepted).toMatchObject({
      proto: 'smtp-in',
      to: ['201@voicegate.local'],
      callerNumber: '5555001',
    });
    expect(entries('recipient refused')[0]).toMatchObject({
      proto: 'smtp-in',
      to: 'nobody@voicegate.local',
      reply: 550,
    });
    const audioText = tone.toString('base64').slice(200, 260);
    expect(lines.join('\n')).not.toContain(audioText);
  });

  it('answers an internal failure with 451 and keeps the details in the log', async () => {
    lines = [];
    const { messages } = server.context;
    const deposit = messages.deposit.bind(messages);
    messages.deposit = async () => {
      throw new Error('disk on fire at /var/secret');
    };
    try {
      const r = await sendWav(server, '201@voicegate.local', wav, '5555003');
      expect(r.code, explain(r)).toBe(26);
      expect(r.replies).toContain('451 temporary failure, try again later');
      expect(r.stdout).not.toContain('disk on fire');
    } finally {
      messages.deposit = deposit;
    }
    const [failed] = entries('mail failed');
    expect((failed!.err as { message: string }).message).toBe('disk on fire at /var/secret');
  });
});
