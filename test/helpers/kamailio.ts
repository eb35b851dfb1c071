import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './free-port.ts';

/**
 * Kamailio as a stand-in PBX: a record-routing proxy on 127.0.0.1 that sends every new call to
 * `target` and in-dialog requests along their Route headers. It logs each request it relays
 * (`relay METHOD URI`). Fails, never skips, when kamailio is missing.
 */
export class Kamailio {
  readonly port: number;
  readonly #proc: ChildProcessWithoutNullStreams;
  #log = '';

  private constructor(port: number, proc: ChildProcessWithoutNullStreams) {
    this.port = port;
    this.#proc = proc;
    const collect = (d: Buffer): void => {
      this.#log += d.toString('latin1');
    };
    proc.stdout.on('data', collect);
    proc.stderr.on('data', collect);
  }

  static async start(target: string): Promise<Kamailio> {
    const dir = mkdtempSync(join(tmpdir(), 'vg-kamailio-'));
    const port = await freePort();
    writeFileSync(
      join(dir, 'kamailio.cfg'),
      `#!KAMAILIO
debug=2
log_stderror=yes
children=1
listen=udp:127.0.0.1:${port}
loadmodule "tm.so"
loadmodule "sl.so"
loadmodule "rr.so"
loadmodule "pv.so"
loadmodule "maxfwd.so"
loadmodule "siputils.so"
loadmodule "textops.so"
loadmodule "xlog.so"
request_route {
  xlog("L_NOTICE", "relay $rm $ru\\n");
  if (!mf_process_maxfwd_header("10")) { sl_send_reply("483", "Too Many Hops"); exit; }
  if (has_totag()) {
    if (loose_route() || is_method("ACK")) { t_relay(); exit; }
    sl_send_reply("404", "Not here");
    exit;
  }
  if (is_method("CANCEL")) { t_relay(); exit; }
  record_route();
  $du = "${target}";
  t_relay();
}
`,
    );
    const proc = spawn('kamailio', ['-f', join(dir, 'kamailio.cfg'), '-DD', '-E', '-Y', dir], {
      stdio: 'pipe',
    });
    const k = new Kamailio(port, proc);
    await new Promise<void>((resolve, reject) => {
      proc.once('error', (err) =>
        reject(
          (err as NodeJS.ErrnoException).code === 'ENOENT'
            ? new Error('kamailio is not installed (apt-get install kamailio)')
            : err,
        ),
      );
      const started = Date.now();
      const poll = setInterval(() => {
        if (/Listening on/.test(k.#log)) {
          clearInterval(poll);
          resolve();
        } else if (Date.now() - started > 10_000 || proc.exitCode !== null) {
          clearInterval(poll);
          reject(new Error(`kamailio did not start:\n${k.#log}`));
        }
      }, 50);
    });
    return k;
  }

  /** The requests relayed so far, e.g. ['INVITE sip:201@...', 'ACK ...', 'BYE ...']. */
  get relayed(): string[] {
    return [...this.#log.matchAll(/relay (\S+ \S+)/g)].map((m) => m[1]!);
  }

  async stop(): Promise<void> {
    if (this.#proc.exitCode !== null || this.#proc.signalCode !== null) return;
    const exited = new Promise((resolve) => this.#proc.once('exit', resolve));
    this.#proc.kill('SIGTERM');
    const killer = setTimeout(() => this.#proc.kill('SIGKILL'), 2000);
    await exited;
    clearTimeout(killer);
  }
}
