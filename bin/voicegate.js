#!/usr/bin/env node
// Plain JavaScript on purpose: it must run on any Node to say clearly when Node is too old,
// before loading the TypeScript sources that need Node 24's type stripping.
import module from 'node:module';
import { keepWebSocketOutOfHttpNamespace } from './http-exports.js';
import { nodeVersionProblem } from './node-version.js';
import { missingServerEnv, missingServerFlags, serverEnv } from './server-flags.js';

const problem = nodeVersionProblem(process.versions.node);
if (problem) {
  process.stderr.write(problem + '\n');
  process.exit(1);
}
// `serve` and `demo` start over once, in the same process (same pid), with the server flags
// and environment (server-flags.js): both are read only when a process starts (V8's flags, the
// allocator preloaded, malloc's settings).
const missing = missingServerFlags(process.execArgv, process.env.NODE_OPTIONS);
if (
  process.argv.slice(2).some((a) => a === 'serve' || a === 'demo') &&
  (missing.length > 0 || missingServerEnv(process.env)) &&
  typeof process.execve === 'function'
) {
  process.execve(
    process.execPath,
    [process.execPath, ...missing, ...process.execArgv, ...process.argv.slice(1)],
    serverEnv(process.env),
  );
}
// Other commands get the server's thread pool too (read when the pool first starts: set it first).
process.env.UV_THREADPOOL_SIZE = serverEnv(process.env).UV_THREADPOOL_SIZE;
// Caches compiled (and type-stripped) modules between runs: a CLI command starts much faster.
module.enableCompileCache?.();
// Before any module imports node:http: an idle server does not keep Node's fetch library.
keepWebSocketOutOfHttpNamespace();
await import('../server/cli/main.ts');
