/**
 * Dovecot as the IMAP yardstick: Debian's dovecot-imapd (installed with apt-get when missing),
 * our own instance on loopback in a temp folder with the config from
 * shared/notes/perf-reliability.md (high-performance login mode, hibernation for IDLE), its
 * users' mail written as Maildir files, and its processes measured through /proc.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { sleep } from './bench-kit.ts';
import { countProcesses, cpuMsOf, treeCpuMs, treeMemory, type Memory } from './imap-proc.ts';

/** The mail owner: a uid of its own, as Debian's docs suggest; no passwd entry is needed. */
const VMAIL = 5000;

export interface Installed {
  version: string;
  /** What the benchmark had to do first: install the package, stop the system service. */
  actions: string[];
}

function has(command: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
}

/** Installs dovecot-imapd when missing and stops a system instance the package may have started. */
export function ensureDovecot(say: (line: string) => void): Installed {
  const actions: string[] = [];
  // dovecot-core alone brings the `dovecot` program but not the IMAP service it needs.
  if (!has('dovecot') || !has('doveadm') || !existsSync('/usr/lib/dovecot/imap')) {
    say('dovecot-imapd is missing: installing it with `apt-get install -y dovecot-imapd`');
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    const install = (): number | null =>
      spawnSync('apt-get', ['install', '-y', '-q', 'dovecot-imapd'], { env, stdio: 'ignore' })
        .status;
    if (install() !== 0) {
      spawnSync('apt-get', ['update', '-q'], { env, stdio: 'ignore' });
      if (install() !== 0) throw new Error('apt-get install -y dovecot-imapd failed');
    }
    actions.push('installed dovecot-imapd with apt-get');
  }
  const systemPid = '/run/dovecot/master.pid';
  if (existsSync(systemPid) && isAlive(Number(readFileSync(systemPid, 'utf8')))) {
    say('stopping the system dovecot service (the benchmark runs its own instance)');
    spawnSync('doveadm', ['stop'], { stdio: 'ignore' });
    actions.push('stopped the system dovecot service');
  }
  const version = execFileSync('dovecot', ['--version'], { encoding: 'utf8' }).trim();
  return { version, actions };
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Times crypt(3) (libxcrypt, what Dovecot calls) through perl: ms per SHA512-CRYPT verify. */
export function sha512CryptMs(rounds: number, repeats = 5): number {
  const script =
    'use Time::HiRes qw(time); my ($r, $n) = @ARGV; my @t;' +
    'for my $i (1..$n) { my $s = time; crypt("13572468$i", "\\$6\\$rounds=$r\\$saltsaltsalt\\$"); push @t, time - $s }' +
    '@t = sort { $a <=> $b } @t; printf "%.4f", $t[int($n / 2)] * 1000';
  return Number(execFileSync('perl', ['-e', script, String(rounds), String(repeats)]));
}

/**
 * The SHA512-CRYPT rounds whose verify takes about `targetMs`: verify time grows linearly with
 * the rounds, so scale from a probe, then once more from a measurement at the estimate (the
 * machine's speed drifts while other work runs on it).
 */
export function calibrateRounds(targetMs: number): { rounds: number; verifyMs: number } {
  const clamp = (r: number): number => Math.max(1000, Math.min(999_999_999, Math.round(r)));
  const probe = 20_000;
  let rounds = clamp((probe * targetMs) / sha512CryptMs(probe));
  for (let i = 0; i < 2; i++) rounds = clamp((rounds * targetMs) / sha512CryptMs(rounds, 7));
  return { rounds, verifyMs: sha512CryptMs(rounds, 7) };
}

export function sha512CryptHash(password: string, rounds: number): string {
  return execFileSync(
    'doveadm',
    ['pw', '-s', 'SHA512-CRYPT', '-r', String(rounds), '-p', password],
    {
      encoding: 'utf8',
    },
  ).trim();
}

export interface MaildirMessage {
  raw: Buffer;
  /** IMAP system flags (\Seen, \Flagged, ...); keywords are left out. */
  flags: string[];
  internalDate: Date;
}

const FLAG_LETTERS: Record<string, string> = {
  '\\Draft': 'D',
  '\\Flagged': 'F',
  '\\Answered': 'R',
  '\\Seen': 'S',
  '\\Deleted': 'T',
};

/** Implicit TLS on `port` (imap-login terminates it), with this certificate and key (PEM files). */
export interface DovecotTls {
  port: number;
  cert: string;
  key: string;
}

function configText(dir: string, port: number, tls?: DovecotTls): string {
  const ssl = tls
    ? `ssl = yes\nssl_cert = <${tls.cert}\nssl_key = <${tls.key}\nssl_min_protocol = TLSv1.2`
    : 'ssl = no';
  return `instance_name = dovecot-bench-${port}
base_dir = ${dir}/run
state_dir = ${dir}/state
protocols = imap
listen = 127.0.0.1
${ssl}
disable_plaintext_auth = no
auth_mechanisms = plain login
log_path = ${dir}/log/dovecot.log
mail_location = maildir:~/Maildir
mail_uid = ${VMAIL}
mail_gid = ${VMAIL}
first_valid_uid = ${VMAIL}
imap_hibernate_timeout = 5s
default_client_limit = 12000
protocol imap {
  mail_max_userip_connections = 100000
}
passdb {
  driver = passwd-file
  args = username_format=%u ${dir}/users
}
userdb {
  driver = passwd-file
  args = username_format=%u ${dir}/users
  default_fields = uid=${VMAIL} gid=${VMAIL} home=${dir}/mail/%u
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = ${port}
  }
  inet_listener imaps {
    address = 127.0.0.1
    port = ${tls?.port ?? 0}
  }
  service_count = 0
  process_min_avail = 2
  client_limit = 6000
}
service imap {
  process_limit = 11000
  unix_listener imap-master {
    user = $default_internal_user
  }
  extra_groups = $default_internal_group
}
service imap-hibernate {
  client_limit = 6000
  process_limit = 4
  unix_listener imap-hibernate {
    mode = 0660
    group = $default_internal_group
  }
}
`;
}

export class Dovecot {
  readonly dir: string;
  readonly port: number;
  readonly conf: string;
  readonly tls: DovecotTls | undefined;
  #pid = 0;

  constructor(dir: string, port: number, tls?: DovecotTls) {
    this.dir = dir;
    this.port = port;
    this.tls = tls;
    this.conf = join(dir, 'dovecot.conf');
  }

  get pid(): number {
    return this.#pid;
  }

  get home(): (user: string) => string {
    return (user) => join(this.dir, 'mail', user);
  }

  /** Writes the config and the users file (`name:{SCHEME}hash`, root:dovecot 0640). */
  prepare(users: { name: string; hash: string }[]): void {
    for (const sub of ['run', 'state', 'log', 'mail'])
      mkdirSync(join(this.dir, sub), { recursive: true });
    // auth (user dovecot) reads the users file and the imap processes (VMAIL) their homes:
    // both must be able to pass through this folder and its parent.
    chmodSync(join(this.dir, '..'), 0o755);
    chmodSync(this.dir, 0o755);
    chownSync(join(this.dir, 'mail'), VMAIL, VMAIL);
    writeFileSync(this.conf, configText(this.dir, this.port, this.tls));
    const usersFile = join(this.dir, 'users');
    writeFileSync(usersFile, users.map((u) => `${u.name}:${u.hash}::::::\n`).join(''));
    const dovecotGid = Number(
      execFileSync('getent', ['group', 'dovecot'], { encoding: 'utf8' }).split(':')[2],
    );
    chownSync(usersFile, 0, dovecotGid);
    chmodSync(usersFile, 0o640);
  }

  /** Writes a user's messages into Maildir/cur, named in order, with their flags and dates. */
  writeMaildir(user: string, messages: MaildirMessage[]): void {
    const maildir = join(this.home(user), 'Maildir');
    for (const sub of ['cur', 'new', 'tmp']) mkdirSync(join(maildir, sub), { recursive: true });
    messages.forEach((m, i) => {
      const flags = m.flags
        .map((f) => FLAG_LETTERS[f] ?? '')
        .sort()
        .join('');
      const seconds = Math.floor(m.internalDate.getTime() / 1000);
      const name = `${seconds}.M${i}P${process.pid}.bench,S=${m.raw.length}:2,${flags}`;
      const file = join(maildir, 'cur', name);
      writeFileSync(file, m.raw);
      // Maildir keeps INTERNALDATE as the file's mtime.
      utimesSync(file, m.internalDate, m.internalDate);
    });
    chownTree(this.home(user), VMAIL);
  }

  /** Starts the master (it forks into the background) and waits for the listener. */
  async start(): Promise<void> {
    // Into a file, not a pipe: the daemon keeps its stdio, and spawnSync would wait for its EOF.
    const startLog = join(this.dir, 'log', 'start.log');
    const fd = openSync(startLog, 'w');
    const out = spawnSync('dovecot', ['-c', this.conf], { stdio: ['ignore', fd, fd] });
    closeSync(fd);
    if (out.status !== 0)
      throw new Error(`dovecot did not start: ${readFileSync(startLog, 'utf8')}${this.logTail()}`);
    const pidFile = join(this.dir, 'run', 'master.pid');
    for (let i = 0; i < 100 && !existsSync(pidFile); i++) await sleep(50);
    this.#pid = Number(readFileSync(pidFile, 'utf8'));
  }

  /** Delivers one message with `doveadm save`; resolves when doveadm exits. */
  save(user: string, raw: Buffer): Promise<void> {
    return new Promise((resolve, reject) => {
      const child = spawn('doveadm', ['-c', this.conf, 'save', '-u', user, '-m', 'INBOX'], {
        stdio: ['pipe', 'ignore', 'pipe'],
      });
      let err = '';
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      child.on('error', reject);
      child.on('exit', (code) =>
        code === 0 ? resolve() : reject(new Error(`doveadm save exited ${code}: ${err}`)),
      );
      child.stdin.end(raw);
    });
  }

  cpuMs(): number {
    return treeCpuMs(this.#pid);
  }

  memory(): Memory {
    return treeMemory(this.#pid);
  }

  /** The auth service's CPU: where passwords are verified. */
  authCpuMs(): number {
    return cpuMsOf(this.#pid, ['auth', 'auth-worker']);
  }

  /** imap processes alive: sessions that are not (or no longer) hibernated. */
  imapProcesses(): number {
    return countProcesses(this.#pid, 'imap');
  }

  logTail(lines = 20): string {
    try {
      const text = readFileSync(join(this.dir, 'log', 'dovecot.log'), 'utf8')
        .trimEnd()
        .split('\n');
      return `\n--- dovecot.log (last ${lines} lines)\n${text.slice(-lines).join('\n')}`;
    } catch {
      return '';
    }
  }

  /** Errors and warnings Dovecot logged, for the notes. */
  logProblems(): string[] {
    try {
      return readFileSync(join(this.dir, 'log', 'dovecot.log'), 'utf8')
        .split('\n')
        .filter((l) => /(Error|Warning|Fatal|Panic):/.test(l));
    } catch {
      return [];
    }
  }

  /** Stops the master and waits until every process of the instance is gone. */
  async stop(): Promise<void> {
    if (!this.#pid) return;
    const t0 = performance.now();
    spawnSync('doveadm', ['-c', this.conf, 'stop'], { stdio: 'ignore' });
    while (isAlive(this.#pid) && performance.now() - t0 < 10_000) await sleep(50);
    if (isAlive(this.#pid)) process.kill(this.#pid, 'SIGKILL');
    this.#pid = 0;
  }
}

/** Raises a kernel limit for the run (Dovecot's IDLE takes an inotify instance per session). */
export function raiseSysctl(file: string, atLeast: number, undo: (() => unknown)[]): string {
  const before = readFileSync(file, 'utf8').trim();
  if (Number(before) >= atLeast) return `${file} = ${before}`;
  writeFileSync(file, String(atLeast));
  undo.push(() => writeFileSync(file, before));
  return `${file} raised from ${before} to ${atLeast} for the run`;
}

/** Sessions go back to imap-hibernate 5 s after their last command: wait until all have. */
export async function hibernated(dovecot: Dovecot): Promise<void> {
  const t0 = performance.now();
  await sleep(1000);
  while (dovecot.imapProcesses() > 0 && performance.now() - t0 < 30_000) await sleep(250);
}

function chownTree(path: string, uid: number): void {
  chownSync(path, uid, uid);
  if (!statSync(path).isDirectory()) return;
  for (const name of readdirSync(path)) chownTree(join(path, name), uid);
}
