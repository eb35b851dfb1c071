import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePortRange, udpListening } from './free-port.ts';

export interface BaresipOptions {
  /** 8 kHz mono 16-bit WAV sent as this phone's voice; baresip hangs up at its end. */
  voice: string;
  user?: string;
  /** Answer incoming calls by itself. */
  autoAnswer?: boolean;
  /** REGISTER to this server (sip:127.0.0.1:PORT) and subscribe to message waiting. */
  registrar?: string;
  /** The SIP password it answers digest challenges with (user name: `user`). */
  password?: string;
}

/**
 * A real softphone (baresip 1.0.0) driven through stdin, on 127.0.0.1 only. Fails, never
 * skips, when baresip is missing. Setup details: ../../../shared/notes/telephony.md.
 */
export class Baresip {
  readonly dir: string;
  readonly port: number;
  readonly #proc: ChildProcessWithoutNullStreams;
  #out = '';
  #waiters: (() => void)[] = [];
  /** Where the output of the latest call starts (set by `dial`). */
  #callStart = 0;
  #exited: Promise<number | null>;

  private constructor(dir: string, port: number, proc: ChildProcessWithoutNullStreams) {
    this.dir = dir;
    this.port = port;
    this.#proc = proc;
    const onData = (chunk: Buffer): void => {
      this.#out += chunk.toString('latin1');
      for (const w of this.#waiters.splice(0)) w();
    };
    proc.stdout.on('data', onData);
    proc.stderr.on('data', onData);
    this.#exited = new Promise((resolve) => proc.once('exit', (code) => resolve(code)));
  }

  static async start(opts: BaresipOptions): Promise<Baresip> {
    const dir = mkdtempSync(join(tmpdir(), 'vg-baresip-'));
    const rec = join(dir, 'rec');
    mkdirSync(rec);
    // baresip listens on UDP and TCP at `port` and TLS at port+1, then RTP: one range for all,
    // below the ephemeral ports where other connections' client ends land.
    const port = await freePortRange(22);
    const rtp = port + 2;
    writeFileSync(
      join(dir, 'config'),
      [
        'poll_method epoll',
        'net_interface 127.0.0.1',
        `sip_listen 127.0.0.1:${port}`,
        'audio_player alsa,null',
        'audio_alert alsa,null',
        `audio_source aufile,${opts.voice}`,
        'ausrc_srate 8000',
        `rtp_ports ${rtp}-${rtp + 19}`,
        'module_path /usr/lib/baresip/modules',
        'module stdio.so',
        'module g711.so',
        'module aufile.so',
        'module alsa.so',
        'module sndfile.so',
        'module_app account.so',
        'module_app menu.so',
        'module_app mwi.so',
        `snd_path ${rec}`,
        '',
      ].join('\n'),
    );
    // Registering: the account's domain is the registrar, so its lamp subscription goes there.
    const domain = opts.registrar ? opts.registrar.replace(/^sip:/, '') : `127.0.0.1:${port}`;
    const params = opts.registrar ? ';regint=60;mwi=yes' : ';regint=0;mwi=no';
    const answer = opts.autoAnswer ? ';answermode=auto' : '';
    const auth = opts.password ? `;auth_pass=${opts.password}` : '';
    const account = `<sip:${opts.user ?? 'alice'}@${domain}>${auth}${params}${answer};audio_codecs=PCMU,PCMA`;
    // A registering account is added once baresip is ready: its mwi module re-subscribes in an
    // endless loop when a registration completes before the module's start-up timer fires.
    writeFileSync(join(dir, 'accounts'), opts.registrar ? '' : `${account}\n`);
    let proc: ChildProcessWithoutNullStreams;
    try {
      proc = spawn('baresip', ['-f', dir, '-t', '120'], { stdio: 'pipe' });
    } catch (err) {
      throw new Error(`baresip could not start: ${(err as Error).message}`);
    }
    const phone = new Baresip(dir, port, proc);
    await new Promise<void>((resolve, reject) => {
      proc.once('error', (err) =>
        reject(
          (err as NodeJS.ErrnoException).code === 'ENOENT'
            ? new Error('baresip is not installed (apt-get install baresip-core)')
            : err,
        ),
      );
      phone.waitFor(/baresip is ready/, 60_000).then(() => resolve(), reject);
    });
    await udpListening(port);
    if (opts.registrar) phone.type(`/uanew ${account}\n`);
    return phone;
  }

  get output(): string {
    return this.#out;
  }

  /**
   * Waits until the output (from offset `since`, e.g. an earlier `output.length`) matches, or
   * fails with the output so far.
   */
  async waitFor(pattern: RegExp, timeoutMs = 15_000, since = 0): Promise<RegExpMatchArray> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = this.#out.slice(since).match(pattern);
      if (m) return m;
      const left = deadline - Date.now();
      if (left <= 0)
        throw new Error(`baresip never printed ${pattern}; output:\n${this.#out.slice(-3000)}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 200));
        this.#waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** Types on the phone's console: `/dial sip:...`, digits (sent as RFC 4733), `b` hangs up. */
  type(text: string): void {
    this.#proc.stdin.write(text);
  }

  dial(uri: string): void {
    this.#callStart = this.#out.length;
    this.type(`/dial ${uri}\n`);
  }

  /**
   * Waits until audio flows both ways on the call (dialled, or answered since output offset
   * `since`): the phone's voice has started and the server's first RTP has arrived. Keys
   * typed before that may never be sent.
   */
  async waitAudio(timeoutMs = 30_000, since = this.#callStart): Promise<void> {
    await this.waitFor(/audio: source started/, timeoutMs, since);
    await this.waitFor(/incoming rtp for 'audio' established/, timeoutMs, since);
  }

  /** What the phone heard on its last call: sndfile's decoded dump. */
  heard(): string {
    return this.#dump('dec', 'heard');
  }

  /** What the phone sent on its last call (its voice as it went out): sndfile's encoder dump. */
  sent(): string {
    return this.#dump('enc', 'sent');
  }

  /** Waits until the phone has sent `ms` of its voice on the current call (8 kHz, 16-bit dump). */
  async waitSent(ms: number, timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const bytes = 44 + ms * 16;
    for (;;) {
      let size = 0;
      try {
        size = statSync(this.sent()).size;
      } catch {
        // no dump yet: the call's audio has not started
      }
      if (size >= bytes) return;
      if (Date.now() > deadline)
        throw new Error(`baresip sent ${Math.max(0, size - 44) / 16} ms of voice, not ${ms}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  #dump(kind: 'enc' | 'dec', what: string): string {
    const files = readdirSync(join(this.dir, 'rec'))
      .filter((f) => f.endsWith(`-${kind}.wav`))
      .sort();
    if (files.length === 0) throw new Error(`baresip recorded nothing it ${what}`);
    return join(this.dir, 'rec', files[files.length - 1]!);
  }

  async stop(): Promise<void> {
    if (this.#proc.exitCode !== null || this.#proc.signalCode !== null) return;
    this.#proc.stdin.write('q\n');
    const killed = setTimeout(() => this.#proc.kill('SIGKILL'), 2000);
    await this.#exited;
    clearTimeout(killed);
  }
}
