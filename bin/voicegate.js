#!/usr/bin/env node
// Plain JavaScript on purpose: it must run on any Node to say clearly when Node is too old,
// before loading the TypeScript sources that need Node 24's type stripping.
import module from 'node:module';
import { nodeVersionProblem } from './node-version.js';
import { missingServerFlags } from './server-flags.js';

const problem = nodeVersionProblem(process.versions.node);
if (problem) {
  process.stderr.write(problem + '\n');
  process.exit(1);
}
// `serve` and `demo` start over once, in the same process (same pid), with the server flags
// (server-flags.js) and 2 glibc malloc arenas instead of one per thread: 240 -> 160 MiB at rest.
const missing = missingServerFlags(process.execArgv, process.env.NODE_OPTIONS);
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
