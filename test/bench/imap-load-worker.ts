/**
 * The IMAP load generator, a process of its own (spawned by imap-load.ts) so that its CPU is
 * neither the benchmark's nor the server's, and can be reported. It answers requests over the
 * IPC channel: run full sessions for a while, open IDLE sessions in batches, and report when
 * each IDLE session sees EXISTS. Times that cross processes are performance.timeOrigin +
 * performance.now(), in ms since the epoch.
 */
import { performance } from 'node:perf_hooks';
import { quote, RawImap } from './imap-client.ts';

export interface Target {
  host: string;
  port: number;
  /** Source addresses in 127.0.0.0/8 to spread sockets over (ephemeral ports, per-IP limits). */
  localAddresses: string[];
}

export interface SessionsRequest {
  type: 'sessions';
  target: Target;
  users: string[];
  password: string;
  concurrency: number;
  seconds: number;
  maxSessions: number;
}

export const STEPS = ['connect', 'login', 'select', 'fetchMeta', 'fetchBody', 'logout'] as const;
export type Step = (typeof STEPS)[number];

export interface SessionsResult {
  sessions: number;
  failed: number;
  firstError?: string;
  seconds: number;
  /** Everything received from the server, all sessions. */
  bytes: number;
  /** BODY[] replies (literal plus framing), all sessions. */
  bodyBytes: number;
  latenciesMs: Record<Step | 'session', number[]>;
  /** The generator's own CPU (user + system) during the run. */
  cpuMs: number;
  /**
   * Each connect-to-greeting of SLOW_MS or more: when it began (ms since the epoch), how long,
   * and whether it was of the opening wave (the first session of each client: all connect at once).
   */
  slowConnects: { at: number; ms: number; opening: boolean }[];
  /** The connect-to-greeting times of the opening wave (also in latenciesMs.connect). */
  openingConnectMs: number[];
  /** The generator's own event-loop blocks of SLOW_MS or more (as test/bench/loop-probe.ts). */
  ownBlocks: { at: number; ms: number }[];
}

export interface OpenRequest {
  type: 'open';
  target: Target;
  /** Session n logs in as users[n % users.length]. */
  users: string[];
  password: string;
  count: number;
}

export interface OpenResult {
  opened: number;
  failed: number;
  firstError?: string;
  total: number;
  ms: number;
}

export interface CollectResult {
  /** When each of the user's sessions saw EXISTS after `arm`, ms since the epoch. */
  seenAt: number[];
  missing: number;
  /** The user's sessions whose connection broke. */
  lost: number;
}

type Request =
  | SessionsRequest
  | OpenRequest
  | { type: 'arm'; user: string }
  | { type: 'collect'; user: string; timeoutMs: number }
  | { type: 'closeAll' }
  | { type: 'exit' };

const now = (): number => performance.timeOrigin + performance.now();
const SLOW_MS = 10;
const TICK_MS = 5;
const EXISTS = /^\* \d+ EXISTS/;

async function runSessions(req: SessionsRequest): Promise<SessionsResult> {
  const latenciesMs = Object.fromEntries(
    [...STEPS, 'session'].map((s) => [s, [] as number[]]),
  ) as SessionsResult['latenciesMs'];
  let started = 0;
  let sessions = 0;
  let failed = 0;
  let firstError: string | undefined;
  let bytes = 0;
  let bodyBytes = 0;
  const slowConnects: SessionsResult['slowConnects'] = [];
  const ownBlocks: SessionsResult['ownBlocks'] = [];
  const openingConnectMs: number[] = [];
  // The generator shares the cores: a greeting it reads late is its own delay, not the server's.
  let tick = performance.now();
  const ticker = setInterval(() => {
    const t = performance.now();
    if (t - tick - TICK_MS >= SLOW_MS)
      ownBlocks.push({ at: performance.timeOrigin + tick, ms: t - tick - TICK_MS });
    tick = t;
  }, TICK_MS);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const deadline = t0 + req.seconds * 1000;

  const session = async (client: number, n: number): Promise<void> => {
    // n counts the run's sessions from 0: the first `concurrency` of them open at the same moment.
    const user = req.users[client % req.users.length]!;
    const localAddress = req.target.localAddresses[n % req.target.localAddresses.length];
    const s0 = performance.now();
    const imap = await RawImap.open({ ...req.target, localAddress });
    try {
      const times: Partial<Record<Step, number>> = { connect: performance.now() - s0 };
      if (n < req.concurrency) openingConnectMs.push(times.connect!);
      if (times.connect! >= SLOW_MS)
        slowConnects.push({
          at: performance.timeOrigin + s0,
          ms: times.connect!,
          opening: n < req.concurrency,
        });
      times.login = (await imap.command(`LOGIN ${quote(user)} ${quote(req.password)}`)).ms;
      times.select = (await imap.command('SELECT INBOX')).ms;
      times.fetchMeta = (await imap.command('FETCH 1:* (FLAGS ENVELOPE BODYSTRUCTURE)')).ms;
      const body = await imap.command('FETCH 1 BODY[]');
      times.fetchBody = body.ms;
      times.logout = (await imap.logout()).ms;
      const total = performance.now() - s0;
      for (const step of STEPS) latenciesMs[step].push(times[step]!);
      latenciesMs.session.push(total);
      sessions++;
      bytes += imap.bytes;
      bodyBytes += body.bytes;
    } finally {
      imap.destroy();
    }
  };

  await Promise.all(
    Array.from({ length: req.concurrency }, async (_, client) => {
      while (performance.now() < deadline && started < req.maxSessions) {
        const n = started++;
        try {
          await session(client, n);
        } catch (err) {
          failed++;
          firstError ??= (err as Error).message;
        }
      }
    }),
  );
  clearInterval(ticker);
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  return {
    slowConnects,
    openingConnectMs,
    ownBlocks,
    sessions,
    failed,
    firstError,
    seconds,
    bytes,
    bodyBytes,
    latenciesMs,
    cpuMs: (cpu.user + cpu.system) / 1000,
  };
}

interface IdleSession {
  imap: RawImap;
  armed: boolean;
  seenAt: number;
  lost: boolean;
}

const idle: IdleSession[] = [];
const byUser = new Map<string, IdleSession[]>();

async function openIdle(req: OpenRequest): Promise<OpenResult> {
  const t0 = performance.now();
  let opened = 0;
  let failed = 0;
  let firstError: string | undefined;
  await Promise.all(
    Array.from({ length: req.count }, async (_, i) => {
      const n = idle.length + i;
      const localAddress = req.target.localAddresses[n % req.target.localAddresses.length];
      const user = req.users[n % req.users.length]!;
      let imap: RawImap | undefined;
      try {
        imap = await RawImap.open({ ...req.target, localAddress, timeoutMs: 60_000 });
        await imap.command(`LOGIN ${quote(user)} ${quote(req.password)}`);
        await imap.command('SELECT INBOX');
        await imap.idle();
        const s: IdleSession = { imap, armed: false, seenAt: 0, lost: false };
        imap.onUntagged = (text) => {
          if (s.armed && s.seenAt === 0 && EXISTS.test(text)) s.seenAt = now();
        };
        imap.socket.on('close', () => (s.lost = true));
        idle.push(s);
        let sessions = byUser.get(user);
        if (!sessions) byUser.set(user, (sessions = []));
        sessions.push(s);
        opened++;
      } catch (err) {
        imap?.destroy();
        failed++;
        firstError ??= (err as Error).message;
      }
    }),
  );
  return { opened, failed, firstError, total: idle.length, ms: performance.now() - t0 };
}

async function collect(user: string, timeoutMs: number): Promise<CollectResult> {
  const sessions = byUser.get(user) ?? [];
  const deadline = performance.now() + timeoutMs;
  const pending = (): number => sessions.filter((s) => s.seenAt === 0 && !s.lost).length;
  while (pending() > 0 && performance.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  for (const s of sessions) s.armed = false;
  return {
    seenAt: sessions.filter((s) => s.seenAt > 0).map((s) => s.seenAt),
    missing: pending(),
    lost: sessions.filter((s) => s.lost).length,
  };
}

async function handle(req: Request): Promise<unknown> {
  switch (req.type) {
    case 'sessions':
      return runSessions(req);
    case 'open':
      return openIdle(req);
    case 'arm':
      for (const s of byUser.get(req.user) ?? []) {
        s.seenAt = 0;
        s.armed = true;
      }
      return null;
    case 'collect':
      return collect(req.user, req.timeoutMs);
    case 'closeAll':
      for (const s of idle.splice(0)) s.imap.destroy();
      byUser.clear();
      return null;
    case 'exit':
      setImmediate(() => process.exit(0));
      return null;
  }
}

process.on('message', (msg: { id: number; req: Request }) => {
  handle(msg.req).then(
    (result) => process.send!({ id: msg.id, result }),
    (err: unknown) => process.send!({ id: msg.id, error: String((err as Error).stack ?? err) }),
  );
});
process.send!({ id: 0, result: 'ready' });
