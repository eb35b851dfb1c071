/**
 * The container image, built for real from docker/Dockerfile with podman and started from its
 * own file system. No registry is reachable here, so the base (Debian 12 minbase + this Node 24
 * binary) is made with debootstrap and cached in BASE_CACHE, and the build takes a context that
 * scripts/image-context.ts prepares from this installed checkout (SOURCE=prepared).
 * `podman run` cannot start containers in this sandbox (crun stops at setrlimit), so the image's
 * mounted file system is entered with unshare + chroot, as the image's user, and its entry point
 * started there: on the host's network, with free ports.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import nodemailer from 'nodemailer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeImageContext } from '../../scripts/image-context.ts';
import { toneWav } from '../../server/media/tone.ts';
import { freePort } from '../helpers/free-port.ts';

const run = promisify(execFile);
const BASE_CACHE = '/var/cache/voicegate-test-base';
const NODE_BIN = join(import.meta.dirname, '../../node_modules/node/bin/node');
const IMAGE = 'localhost/voicegate-test';
const MINUTES = 60_000;

let work: string;
let root: string; // the image's file system, mounted read-only
let volume: string; // stands in for the volume /var/lib/voicegate
let imageEnv: string[];
let imagesBefore: Set<string>;

/** Intermediate images (the build stages) are left untagged: the ones this build made. */
async function danglingImages(): Promise<string[]> {
  const out = await sh('podman', ['images', '-a', '-q', '--no-trunc', '--filter', 'dangling=true']);
  return out.split('\n').filter(Boolean);
}

async function sh(cmd: string, args: string[], input?: string): Promise<string> {
  const child = execFile(cmd, args, { maxBuffer: 64 << 20 });
  if (input !== undefined) child.stdin!.end(input);
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve(out) : reject(new Error(`${cmd} ${args.join(' ')}: ${code}\n${err}`)),
    );
  });
}

/** Debian 12 minbase with this Node as /usr/local/bin/node, imported once per Node version. */
async function baseImage(): Promise<string> {
  const tag = `localhost/voicegate-test-base:node-${process.versions.node}`;
  if (
    await run('podman', ['image', 'exists', tag]).then(
      () => true,
      () => false,
    )
  )
    return tag;
  const rootfs = join(BASE_CACHE, 'rootfs');
  if (!existsSync(rootfs)) {
    const partial = join(BASE_CACHE, 'rootfs.partial');
    rmSync(partial, { recursive: true, force: true });
    mkdirSync(BASE_CACHE, { recursive: true });
    await sh('debootstrap', [
      '--variant=minbase',
      'bookworm',
      partial,
      'http://deb.debian.org/debian',
    ]);
    renameSync(partial, rootfs);
  }
  await sh('install', ['-m', '0755', NODE_BIN, join(rootfs, 'usr/local/bin/node')]);
  await sh('sh', [
    '-c',
    `tar -C "$1" -c . | podman import --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' - "$2"`,
    'import',
    rootfs,
    tag,
  ]);
  return tag;
}

/**
 * Runs the image's entry point with `args` inside its file system, as its user: a private
 * mount namespace binds the volume, /dev, /proc and a /tmp into the read-only image, then
 * chroot. The process chain execs down to Node, so signals reach the server itself.
 */
function inImage(args: string[]): ChildProcess {
  const script = [
    'set -e',
    'mount --bind "$VOL" "$ROOT/var/lib/voicegate"',
    'mount --rbind /dev "$ROOT/dev"',
    'mount --rbind /proc "$ROOT/proc"',
    'mount -t tmpfs tmpfs "$ROOT/tmp"',
    'exec chroot --userspec=10001:10001 "$ROOT" /usr/bin/env -i "$@"',
  ].join('\n');
  return spawn(
    'unshare',
    [
      '--mount',
      'sh',
      '-c',
      script,
      'in-image',
      ...imageEnv,
      '/opt/voicegate/docker/entrypoint.sh',
      ...args,
    ],
    { env: { ...process.env, VOL: volume, ROOT: root }, stdio: ['pipe', 'pipe', 'pipe'] },
  );
}

async function cliInImage(args: string[], input = ''): Promise<string> {
  const child = inImage(args);
  child.stdin!.end(input);
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const code = await new Promise((resolve) => child.on('close', resolve));
  if (code !== 0) throw new Error(`voicegate ${args.join(' ')}: ${String(code)}\n${err}`);
  return out;
}

beforeAll(async () => {
  if (process.getuid?.() !== 0) throw new Error('the image test needs root (podman, chroot)');
  for (const tool of ['podman', 'debootstrap', 'unshare', 'chroot'])
    await run('sh', ['-c', `command -v ${tool}`]).catch(() => {
      throw new Error(`${tool} is missing: run scripts/install-test-tools.sh`);
    });
  if (!existsSync(join(import.meta.dirname, '../../web/dist/index.html')))
    await sh('npm', ['run', 'build']);
  work = mkdtempSync(join(tmpdir(), 'voicegate-image-'));
  const base = await baseImage();
  await makeImageContext(join(work, 'context'));
  imagesBefore = new Set(await danglingImages());
  // chroot isolation: crun cannot create containers here. Docker format keeps the HEALTHCHECK.
  // No apt packages in the test build (RUNTIME_PACKAGES empty): the deposit needs none.
  await sh('podman', [
    'build',
    '--isolation=chroot',
    '--format=docker',
    '-f',
    join(import.meta.dirname, '../../docker/Dockerfile'),
    '--build-arg',
    `BASE=${base}`,
    '--build-arg',
    'SOURCE=prepared',
    '--build-arg',
    'RUNTIME_PACKAGES=',
    '-t',
    IMAGE,
    join(work, 'context'),
  ]);
  root = (await sh('podman', ['image', 'mount', IMAGE])).trim();
  const [config] = JSON.parse(await sh('podman', ['image', 'inspect', IMAGE])) as [
    { Config: { Env: string[] } },
  ];
  imageEnv = config.Config.Env;
  volume = join(work, 'volume');
  mkdirSync(volume, { mode: 0o700 });
  await run('chown', ['10001:10001', volume]);
}, 15 * MINUTES);

afterAll(async () => {
  if (root) await run('podman', ['image', 'unmount', IMAGE]).catch(() => undefined);
  await run('podman', ['rmi', '-f', IMAGE]).catch(() => undefined);
  if (imagesBefore) {
    const ours = (await danglingImages()).filter((id) => !imagesBefore.has(id));
    if (ours.length > 0) await run('podman', ['rmi', '-f', ...ours]).catch(() => undefined);
  }
  if (work) rmSync(work, { recursive: true, force: true });
  // Removing the image's layers took over a minute on a busy disk.
}, 5 * MINUTES);

describe('the container image', () => {
  it('is built with its user, volume, health check and entry point', async () => {
    const [image] = JSON.parse(await sh('podman', ['image', 'inspect', IMAGE])) as [
      {
        Config: {
          User: string;
          Entrypoint: string[];
          Cmd: string[];
          Volumes: Record<string, object>;
        };
        Healthcheck?: { Test: string[] };
      },
    ];
    expect(image.Config.User).toBe('voicegate');
    expect(image.Config.Entrypoint).toEqual(['/opt/voicegate/docker/entrypoint.sh']);
    expect(image.Config.Cmd).toEqual(['serve']);
    expect(Object.keys(image.Config.Volumes)).toEqual(['/var/lib/voicegate']);
    expect(image.Healthcheck?.Test).toEqual([
      'CMD',
      'node',
      '/opt/voicegate/docker/healthcheck.js',
    ]);
    expect(readFileSync(join(root, 'etc/passwd'), 'utf8')).toMatch(
      /^voicegate:x:10001:10001:.*:\/var\/lib\/voicegate:\/usr\/sbin\/nologin$/m,
    );
  });

  it(
    'starts serving from an empty volume, answers its health check and takes a deposit',
    async () => {
      const [http, smtp] = [await freePort(), await freePort()];
      const server = inImage([
        'serve',
        ...['--set', `http.port=${http}`, '--set', `smtp.port=${smtp}`],
        ...['--set', 'imap.port=0', '--set', 'imap.tlsPort=0', '--set', 'sip.port=0'],
      ]);
      server.stdin!.end();
      let logs = '';
      const exited = new Promise<number | null>((resolve) => server.on('exit', resolve));
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no start:\n${logs}`)), 60_000);
        server.stderr!.on('data', (d: Buffer) => {
          logs += d.toString();
          if (logs.includes('"voicegate serving"')) {
            clearTimeout(timer);
            resolve();
          }
        });
        void exited.then((code) => reject(new Error(`server exited with ${code}:\n${logs}`)));
      });
      // The first start wrote the config and certificate into the volume, owned by the user.
      expect(existsSync(join(volume, 'voicegate.yaml'))).toBe(true);
      expect(readFileSync(join(volume, 'voicegate.yaml'), 'utf8')).toMatch(/host: 0\.0\.0\.0/);
      const ca = readFileSync(join(volume, 'tls/cert.pem'));

      // The image's HEALTHCHECK command, run as the container would.
      const health = spawn('unshare', [
        '--mount',
        'chroot',
        '--userspec=10001:10001',
        root,
        '/usr/bin/env',
        '-i',
        ...imageEnv.filter((e) => !e.startsWith('VOICEGATE_HEALTH_URL=')),
        `VOICEGATE_HEALTH_URL=https://127.0.0.1:${http}/healthz`,
        'node',
        '/opt/voicegate/docker/healthcheck.js',
      ]);
      expect(await new Promise((resolve) => health.on('close', resolve))).toBe(0);
      // And from outside, verified against the certificate the first start made.
      const { stdout } = await run('curl', [
        '-s',
        '--cacert',
        join(volume, 'tls/cert.pem'),
        `https://127.0.0.1:${http}/healthz`,
      ]);
      expect(JSON.parse(stdout)).toEqual({ status: 'ok' });

      // A mailbox made with the image's CLI, a voicemail mailed in, then listed by the CLI.
      await cliInImage(['mailbox', 'add', 'alice', '--extension', '201'], '1234\n');
      const mailer = nodemailer.createTransport({
        host: '127.0.0.1',
        port: smtp,
        requireTLS: true,
        tls: { ca },
      });
      const info = await mailer.sendMail({
        from: '"Dana Doe" <5553001@pbx.example>',
        to: '201@voicegate.local',
        subject: 'Voice message',
        text: 'A voice message is attached.',
        attachments: [
          {
            filename: 'message.wav',
            content: Buffer.from(toneWav({ seconds: 2, frequency: 660 })),
          },
        ],
      });
      mailer.close();
      expect(info.response).toMatch(/^250 voicemail stored/);
      const inbox = JSON.parse(await cliInImage(['messages', 'alice', '--json'])) as object[];
      expect(inbox).toHaveLength(1);
      expect(inbox[0]).toMatchObject({ callerName: 'Dana Doe' });

      server.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(logs).toContain('"shutting down"');
    },
    3 * MINUTES,
  );
});
