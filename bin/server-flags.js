// Plain JavaScript: loaded before any TypeScript, on whatever Node started the command.

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
 * The environment a server runs in: `env` with 2 glibc malloc arenas instead of one per thread
 * (240 -> 160 MiB at rest) and libuv's thread pool at 16 threads (4 by default), which serves
 * file I/O and code hashing alike: concurrent deposits' writes and fsyncs, and audio reads during
 * a burst of logins, each hold a thread. A value the caller set is kept. libuv reads its size
 * once, when the pool first starts, so it must be in the environment before any file I/O.
 * glibc's mmap threshold is fixed at its default (128 KiB): left free, it rises to the size of
 * the largest block freed (up to 32 MiB), so each code check's scrypt block (16 MiB) comes from an
 * arena after the first and its pages stay resident once freed, where a fixed threshold gives each
 * back to the system when freed (test/bench/README.md).
 */
export function serverEnv(env) {
  return {
    ...env,
    MALLOC_ARENA_MAX: env.MALLOC_ARENA_MAX ?? '2',
    MALLOC_MMAP_THRESHOLD_: env.MALLOC_MMAP_THRESHOLD_ ?? '131072',
    UV_THREADPOOL_SIZE: env.UV_THREADPOOL_SIZE ?? '16',
  };
}
