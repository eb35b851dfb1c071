// Backup and restore as an administrator runs them: a real server process taking voicemail by
// SMTP, `voicegate backup create` while it does, `voicegate restore` into a new folder and a
// server started there.
import { createHash } from 'node:crypto';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { get } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import nodemailer from 'nodemailer';
import * as tar from 'tar';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../server/config/load.ts';
import { createContext } from '../../server/context.ts';
import { createLogger } from '../../server/log.ts';
import { toneWav } from '../../server/media/tone.ts';
import { runCli } from '../helpers/cli.ts';
import { serveProcess, type ServeProcess } from '../helpers/serve-process.ts';

let root: string;
const original = () => join(root, 'original');
const archive = () => join(root, 'backup.tar.gz');

/** A distinct voicemail per deposit, so each restored one can be matched to what was sent. */
function voicemailFor(n: number): Buffer {
  return Buffer.from(toneWav({ seconds: 1 + (n % 3) * 0.5, frequency: 300 + n * 7 }));
}

interface Acked {
  caller: string;
  wav: Buffer;
}

/** Deposits by SMTP, one after another, until stopped; `acked` grows as each gets its 250. */
function depositStream(server: ServeProcess, dir: string) {
  const acked: Acked[] = [];
  let stopping = false;
  const mailer = nodemailer.createTransport({
    host: '127.0.0.1',
    port: server.ports.smtp,
    secure: false,
    requireTLS: true,
    pool: true,
    maxConnections: 2,
    tls: { ca: readFileSync(join(dir, 'tls', 'cert.pem')) },
  });
  const lane = async (first: number): Promise<void> => {
    for (let n = first; !stopping; n += 2) {
      const caller = String(5550000 + n);
      const wav = voicemailFor(n);
      const info = await mailer.sendMail({
        from: `<${caller}@pbx.example>`,
        to: '201@voicegate.local',
        subject: 'Voice message',
        text: 'attached',
        attachments: [{ filename: 'm.wav', content: wav }],
      });
      expect(info.response).toMatch(/^250/);
      acked.push({ caller, wav });
    }
  };
  const lanes = Promise.all([lane(0), lane(1)]);
  return {
    acked,
    async stop(): Promise<void> {
      stopping = true;
      await lanes;
      mailer.close();
    },
  };
}

async function storedAudio(dataDir: string): Promise<Map<string, Buffer>> {
  const configFile = join(dataDir, 'voicegate.yaml');
  const ctx = await createContext(loadConfig(configFile), createLogger('silent'));
  try {
    const alice = await ctx.store.findMailbox('alice');
    const out = new Map<string, Buffer>();
    for (const m of await ctx.store.listMessages(alice!.id))
      out.set(m.callerNumber!, await ctx.audio.read(m.audio.key));
    return out;
  } finally {
    await ctx.close();
  }
}

function healthz(url: string, caFile: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    get(`${url}/healthz`, { ca: readFileSync(caFile) }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve(JSON.parse(body)));
    }).on('error', reject);
  });
}

/** Every file under `dir` with its SHA-256: to show a folder was left exactly as it was. */
function fingerprint(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true }))
    if (e.isFile()) {
      const path = join(e.parentPath, e.name);
      out[path.slice(dir.length)] = createHash('sha256').update(readFileSync(path)).digest('hex');
    }
  return out;
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'voicegate-backup-'));
  expect((await runCli(['init', '--dir', original()])).code).toBe(0);
  const add = await runCli(
    [
      '--config',
      join(original(), 'voicegate.yaml'),
      'mailbox',
      'add',
      'alice',
      '--extension',
      '201',
    ],
    { input: '1234\n' },
  );
  expect(add.code).toBe(0);
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('backup create, verify and restore', () => {
  it('backs up while deposits stream in; a server on the restored folder has every acknowledged voicemail, byte for byte', async () => {
    const server = await serveProcess(join(original(), 'voicegate.yaml'));
    const stream = depositStream(server, original());
    try {
      while (stream.acked.length < 20) await new Promise((r) => setTimeout(r, 20));
      const before = stream.acked.length;
      const ackedBefore = stream.acked.slice(0, before);
      const backup = await runCli([
        '--config',
        join(original(), 'voicegate.yaml'),
        'backup',
        'create',
        '--to',
        archive(),
      ]);
      expect(backup.stderr).not.toMatch(/voicegate:/);
      expect(backup.code).toBe(0);
      expect(backup.stdout).toMatch(/wrote .*backup\.tar\.gz/);
      // Deposits went on while it ran: the server was never paused.
      const during = stream.acked.length - before;
      await stream.stop();
      expect(during).toBeGreaterThan(0);
      // Not a terminal: a plain line per step.
      expect(backup.stderr).toMatch(/^copying the store\.\.\.$/m);
      expect(backup.stderr).toMatch(/^writing the archive \(\d+\)\.\.\.$/m);

      const verify = await runCli(['backup', 'verify', archive()]);
      expect(verify.code).toBe(0);
      expect(verify.stdout).toMatch(/good/);

      const restored = join(root, 'restored');
      const restore = await runCli(['restore', archive(), '--dir', restored]);
      expect(restore.stderr).not.toMatch(/voicegate:/);
      expect(restore.code).toBe(0);
      expect(statSync(join(restored, 'voicegate.db')).mode & 0o777).toBe(0o600);

      const second = await serveProcess(join(restored, 'voicegate.yaml'));
      try {
        // Served over HTTPS with the restored certificate, verified against it.
        expect(await healthz(second.url, join(restored, 'tls', 'cert.pem'))).toEqual({
          status: 'ok',
        });
        const audio = await storedAudio(restored);
        for (const { caller, wav } of ackedBefore)
          expect(audio.get(caller)?.equals(wav), caller).toBe(true);
        // Nothing half there: each voicemail restored is whole, as it was sent.
        const sent = new Map(stream.acked.map((a) => [a.caller, a.wav]));
        for (const [caller, bytes] of audio)
          expect(bytes.equals(sent.get(caller)!), caller).toBe(true);
        const manifest = JSON.parse(
          (await runCli(['backup', 'verify', archive(), '--json'])).stdout,
        ) as {
          counts: { messages: number };
        };
        expect(audio.size).toBe(manifest.counts.messages);
      } finally {
        await second.stop();
      }
    } finally {
      await stream.stop();
      await server.stop();
    }
  }, 120_000);

  it('verify catches one flipped byte, and restore refuses that archive leaving the folder untouched', async () => {
    const bytes = readFileSync(archive());
    const damaged = join(root, 'damaged.tar.gz');
    const flipped = Buffer.from(bytes);
    flipped[Math.floor(flipped.length / 2)]! ^= 0x01;
    writeFileSync(damaged, flipped);

    const verify = await runCli(['backup', 'verify', damaged]);
    expect(verify.code).toBe(3);
    expect(verify.stderr).toMatch(/the backup is damaged/);

    const target = join(root, 'restored');
    const before = fingerprint(target);
    const restore = await runCli(['restore', damaged, '--dir', target, '--force']);
    expect(restore.code).toBe(3);
    expect(fingerprint(target)).toEqual(before);
    expect(readdirSync(target).filter((n) => n.startsWith('.'))).toEqual([]);
  }, 60_000);

  it('verify names a file whose bytes differ from its checksum in a well-formed archive', async () => {
    const dir = join(root, 'unpacked');
    mkdirSync(dir);
    await tar.x({ file: archive(), cwd: dir });
    const files = (
      JSON.parse(readFileSync(join(dir, 'voicegate-backup.json'), 'utf8')) as {
        files: { path: string }[];
      }
    ).files.map((f) => f.path);
    const audio = files.find((f) => f.startsWith('audio/'))!;
    const bytes = readFileSync(join(dir, audio));
    bytes[bytes.length - 1]! ^= 0x01;
    writeFileSync(join(dir, audio), bytes);
    const repacked = join(root, 'repacked.tar.gz');
    await tar.c({ file: repacked, cwd: dir, gzip: true }, ['voicegate-backup.json', ...files]);
    const verify = await runCli(['backup', 'verify', repacked]);
    expect(verify.code).toBe(3);
    expect(verify.stderr).toContain(`${audio} does not match its checksum`);
  }, 30_000);

  it('restore refuses a folder with data unless --force, and with it replaces the data', async () => {
    const target = join(root, 'restored');
    const refused = await runCli(['restore', archive(), '--dir', target]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/is not empty.*--force/);

    writeFileSync(join(target, 'left-over'), 'x');
    const forced = await runCli(['restore', archive(), '--dir', target, '--force']);
    expect(forced.code).toBe(0);
    expect(existsSync(join(target, 'left-over'))).toBe(false);
    expect(readdirSync(target).filter((n) => n.startsWith('.'))).toEqual([]);
  }, 60_000);

  it('verify refuses what is not a Voicegate backup, and a file that does not exist', async () => {
    const other = join(root, 'other.tar.gz');
    copyFileSync(join(original(), 'voicegate.yaml'), other);
    expect((await runCli(['backup', 'verify', other])).code).toBe(3);
    const none = await runCli(['backup', 'verify', join(root, 'none.tar.gz')]);
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/no backup at/);
  }, 30_000);
});
