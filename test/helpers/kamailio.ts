import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, udpListening } from './free-port.ts';

/**
 * Kamailio as a stand-in PBX: a record-routing proxy on 127.0.0.1 that sends every new call to
 * `target` and in-dialog requests along their Route headers. It logs each request it relays
 * (`relay METHOD URI`). Fails, never skips, when kamailio is missing.
 */
/** What every configuration here starts with: one UDP listener, the relay's modules. */
function head(port: number): string {
  return `#!KAMAILIO
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
loadmodule "xlog.so"`;
}

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
    return Kamailio.#run(
      (port) => `${head(port)}
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
  }

  /**
   * Kamailio's dispatcher in front of several servers, as a PBX points at a central and its
   * backup: each probed with SIP OPTIONS every second, one that does not answer marked down at
   * once; a new call goes to the first one up in the order given (algorithm 8: by priority),
   * and to the next when the first does not answer. Logs `relay METHOD URI -> DESTINATION`.
   */
  static async dispatch(targets: string[]): Promise<Kamailio> {
    const dir = mkdtempSync(join(tmpdir(), 'vg-kamailio-ds-'));
    const list = join(dir, 'dispatcher.list');
    writeFileSync(list, targets.map((t, i) => `1 ${t} 0 ${targets.length - i}\n`).join(''));
    return Kamailio.#run(
      (port) => `${head(port)}
loadmodule "dispatcher.so"
modparam("tm", "fr_timer", 2000)
modparam("dispatcher", "list_file", "${list}")
modparam("dispatcher", "flags", 2)
modparam("dispatcher", "ds_ping_interval", 1)
modparam("dispatcher", "ds_probing_mode", 1)
modparam("dispatcher", "ds_probing_threshold", 1)
modparam("dispatcher", "ds_inactive_threshold", 1)
modparam("dispatcher", "ds_ping_from", "sip:kamailio@127.0.0.1")
request_route {
  if (!mf_process_maxfwd_header("10")) { sl_send_reply("483", "Too Many Hops"); exit; }
  if (has_totag()) {
    xlog("L_NOTICE", "relay $rm $ru -> $du\\n");
    if (loose_route() || is_method("ACK")) { t_relay(); exit; }
    sl_send_reply("404", "Not here");
    exit;
  }
  if (is_method("CANCEL")) { t_relay(); exit; }
  if (!ds_select_dst("1", "8")) { sl_send_reply("503", "No voicemail server up"); exit; }
  record_route();
  xlog("L_NOTICE", "relay $rm $ru -> $du\\n");
  t_on_failure("NEXT");
  t_relay();
}
failure_route[NEXT] {
  if (t_is_canceled()) exit;
  if (t_check_status("408|5[0-9][0-9]") || t_branch_timeout()) {
    ds_mark_dst("ip");
    if (ds_next_dst()) {
      xlog("L_NOTICE", "relay $rm $ru -> $du\\n");
      t_on_failure("NEXT");
      t_relay();
    }
  }
}
`,
      dir,
    );
  }

  static async #run(config: (port: number) => string, dir?: string): Promise<Kamailio> {
    dir ??= mkdtempSync(join(tmpdir(), 'vg-kamailio-'));
    const port = await freePort();
    writeFileSync(join(dir, 'kamailio.cfg'), config(port));
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
          // It prints its sockets before its workers take requests on them.
          udpListening(port).then(resolve, reject);
        } else if (Date.now() - started > 60_000 || proc.exitCode !== null) {
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

  /** Its log so far (for assertion messages). */
  get log(): string {
    return this.#log;
  }

  /** Where the dispatcher sent each new call, e.g. ['sip:127.0.0.1:5061', ...]. */
  get dispatched(): string[] {
    return [...this.#log.matchAll(/relay INVITE \S+ -> (\S+)/g)].map((m) => m[1]!);
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
