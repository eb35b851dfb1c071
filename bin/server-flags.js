// Plain JavaScript: loaded before any TypeScript, on whatever Node started the command.
import { existsSync } from 'node:fs';

// A server's memory at rest: V8 lets each young-generation semi-space grow to 32 MiB under a burst
// of allocation (start-up, a wave of logins) and keeps those pages resident after. Fixed only when
// a process starts (V8 ignores the flag set at run time), so `serve` and `demo` start over once,
// in the same process (same pid), with 2 MiB semi-spaces: see test/bench/README.
// `--optimize-for-size` makes V8 favour small objects and code over speed: an idle IMAP session's
// live heap is about a fifth smaller, for 10-25% more CPU to open one (test/bench/README.md,
// "Where an IMAP server's memory goes").
const SERVER_FLAGS = [
  ['--max-semi-space-size', '--max-semi-space-size=2'],
  ['--optimize-for-size', '--optimize-for-size'],
];

/**
 * The server flags to add to a start with `execArgv` and `nodeOptions` (NODE_OPTIONS): a flag
 * the caller already gave, its own value or its `--no-` form, in either place, is kept as given
 * (a command-line flag would override NODE_OPTIONS).
 */
export function missingServerFlags(execArgv, nodeOptions) {
  const given = [...execArgv, ...String(nodeOptions ?? '').split(/\s+/)];
  const has = (name) =>
    given.some((a) => a === name || a.startsWith(`${name}=`) || a === name.replace(/^--/, '--no-'));
  return SERVER_FLAGS.filter(([name]) => !has(name)).map(([, flag]) => flag);
}

/**
 * Where Debian's libjemalloc2 (and other distributions' jemalloc packages) puts the library, for
 * this machine's architecture.
 */
const JEMALLOC_PATHS = [
  ...({ x64: ['x86_64-linux-gnu'], arm64: ['aarch64-linux-gnu'] }[process.arch] ?? []).map(
    (triplet) => `/usr/lib/${triplet}/libjemalloc.so.2`,
  ),
  '/usr/lib64/libjemalloc.so.2',
  '/usr/lib/libjemalloc.so.2',
];

/** The installed jemalloc library, if any. */
export function installedJemalloc() {
  return process.platform === 'linux' ? JEMALLOC_PATHS.find((p) => existsSync(p)) : undefined;
}

/**
 * jemalloc's settings when it is preloaded: a background thread returns freed pages to the
 * system after a second without use (jemalloc otherwise purges only while something allocates,
 * so a server gone quiet would keep them), and two arenas as glibc's.
 */
export const JEMALLOC_CONF =
  'background_thread:true,dirty_decay_ms:1000,muzzy_decay_ms:0,narenas:2';

/**
 * The environment a server runs in: `env` with 2 glibc malloc arenas instead of one per thread
 * (240 -> 160 MiB at rest) and libuv's thread pool at 16 threads (4 by default), which serves
 * file I/O and code hashing alike: concurrent deposits' writes and fsyncs, and audio reads during
 * a burst of logins, each hold a thread. A value the caller set is kept. libuv reads its size
 * once, when the pool first starts, so it must be in the environment before any file I/O.
 * glibc's mmap threshold is fixed at its default (128 KiB): left free, it rises to the size of
 * the largest block freed (up to 32 MiB), so each code check's scrypt block (16 MiB) comes from an
 * arena after the first and its pages stay resident once freed, where a fixed threshold gives each
 * back to the system when freed (test/bench/README.md).
 * When jemalloc is installed (`jemalloc()` finds it; by default `installedJemalloc`), it is
 * preloaded in place of glibc's malloc, which keeps resident the pages freed between blocks still
 * in use: jemalloc gives them back, 1.7 KB per idle IMAP session (test/bench/README.md, "The
 * allocator"). Not when the caller set LD_PRELOAD, nor with VOICEGATE_ALLOCATOR=glibc. The glibc
 * settings stay, for a start where the preload fails.
 */
export function serverEnv(env, jemalloc = installedJemalloc) {
  const preload =
    env.LD_PRELOAD === undefined && env.VOICEGATE_ALLOCATOR !== 'glibc' ? jemalloc() : undefined;
  return {
    ...env,
    MALLOC_ARENA_MAX: env.MALLOC_ARENA_MAX ?? '2',
    MALLOC_MMAP_THRESHOLD_: env.MALLOC_MMAP_THRESHOLD_ ?? '131072',
    UV_THREADPOOL_SIZE: env.UV_THREADPOOL_SIZE ?? '16',
    ...(preload ? { LD_PRELOAD: preload, MALLOC_CONF: env.MALLOC_CONF ?? JEMALLOC_CONF } : {}),
  };
}

/** Whether a start in `env` lacks some of the server's environment (then it starts over). */
export function missingServerEnv(env, jemalloc = installedJemalloc) {
  const wanted = serverEnv(env, jemalloc);
  return Object.keys(wanted).some((key) => env[key] === undefined);
}
