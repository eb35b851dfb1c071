#!/usr/bin/env node
// Plain JavaScript on purpose: it must run on any Node to say clearly when Node is too old,
// before loading the TypeScript sources that need Node 24's type stripping.
import module from 'node:module';
import { nodeVersionProblem } from './node-version.js';

const problem = nodeVersionProblem(process.versions.node);
if (problem) {
  process.stderr.write(problem + '\n');
  process.exit(1);
}
// A server's memory at rest: V8 lets each young-generation semi-space grow to 32 MiB under a burst
// of allocation (start-up, a wave of logins) and keeps those pages resident after, and glibc gives
// each of the many threads its own malloc arena. Both are fixed only when a process starts (V8
// ignores the flag set at run time), so `serve` and `demo` start over once, in the same process
// (same pid), with 2 MiB semi-spaces and 2 arenas: 240 -> 160 MiB at rest, see test/bench/README.
// `--optimize-for-size` makes V8 favour small objects and code over speed: an idle IMAP session's
// live heap is about a fifth smaller, for 10-25% more CPU to open one (test/bench/README.md,
// "Where an IMAP server's memory goes").
// A flag the caller already gave (its own value, or `--no-` form) is kept as given.
const SERVER_FLAGS = [
  ['--max-semi-space-size', '--max-semi-space-size=2'],
  ['--optimize-for-size', '--optimize-for-size'],
];
const given = (name) =>
  process.execArgv.some(
    (a) => a === name || a.startsWith(`${name}=`) || a === name.replace(/^--/, '--no-'),
  );
const missing = SERVER_FLAGS.filter(([name]) => !given(name)).map(([, flag]) => flag);
if (
  process.argv.slice(2).some((a) => a === 'serve' || a === 'demo') &&
  missing.length > 0 &&
  typeof process.execve === 'function'
) {
  process.execve(
    process.execPath,
    [process.execPath, ...missing, ...process.execArgv, ...process.argv.slice(1)],
    { ...process.env, MALLOC_ARENA_MAX: process.env.MALLOC_ARENA_MAX ?? '2' },
  );
}
// libuv's pool (4 threads by default) serves file I/O and code hashing alike: a burst of logins
// must not leave audio reads waiting. Read once, when the pool first starts, so set it first.
process.env.UV_THREADPOOL_SIZE ??= '16';
// Caches compiled (and type-stripped) modules between runs: a CLI command starts much faster.
module.enableCompileCache?.();
await import('../server/cli/main.ts');
