import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './free-port.ts';

const run = promisify(execFile);
const SSHD = '/usr/sbin/sshd';

export interface Sshd {
  host: string;
  port: number;
  username: string;
  /** The user's private key file (no passphrase). */
  userKey: string;
  /** As `ssh-keygen -lf` prints it: SHA256:... */
  hostKeyFingerprint: string;
  /** A folder the user may write to. */
  home: string;
  stop(): Promise<void>;
}

/**
 * Debian's OpenSSH server in the foreground (`sshd -D`) on a free loopback port, with a host key
 * and a user key made for the test; SFTP by its internal server. Missing, it fails the test
 * (scripts/install-test-tools.sh installs openssh-server).
 */
export async function startSshd(): Promise<Sshd> {
  if (!existsSync(SSHD))
    throw new Error(`${SSHD} is missing: run scripts/install-test-tools.sh (openssh-server)`);
  const dir = mkdtempSync(join(tmpdir(), 'voicegate-sshd-'));
  await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'host_key')]);
  await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'user_key')]);
  writeFileSync(join(dir, 'authorized_keys'), readFileSync(join(dir, 'user_key.pub')), {
    mode: 0o600,
  });
  const fp = (await run('ssh-keygen', ['-lf', join(dir, 'host_key.pub')])).stdout.split(' ')[1]!;
  const home = join(dir, 'home');
  mkdirSync(home);
  // sshd insists on its privilege separation folder, even in the foreground.
  mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  const port = await freePort();
  const config = join(dir, 'sshd_config');
  writeFileSync(
    config,
    [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${join(dir, 'host_key')}`,
      `PidFile ${join(dir, 'sshd.pid')}`,
      `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
      'PubkeyAuthentication yes',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'PermitRootLogin prohibit-password',
      'StrictModes no',
      'UsePAM no',
      'Subsystem sftp internal-sftp',
      '',
    ].join('\n'),
  );
  const child: ChildProcess = spawn(SSHD, ['-D', '-e', '-f', config], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let logs = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`sshd did not start:\n${logs}`)), 15_000);
    child.stderr!.on('data', (d: Buffer) => {
      logs += d.toString();
      if (/Server listening on 127\.0\.0\.1/.test(logs)) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.on('exit', (code) => reject(new Error(`sshd exited with ${code}:\n${logs}`)));
  });
  return {
    host: '127.0.0.1',
    port,
    username: userInfo().username,
    userKey: join(dir, 'user_key'),
    hostKeyFingerprint: fp,
    home,
    async stop() {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
