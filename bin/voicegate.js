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
// libuv's pool (4 threads by default) serves file I/O and code hashing alike: a burst of logins
// must not leave audio reads waiting. Read once, when the pool first starts, so set it first.
process.env.UV_THREADPOOL_SIZE ??= '16';
// Caches compiled (and type-stripped) modules between runs: a CLI command starts much faster.
module.enableCompileCache?.();
await import('../server/cli/main.ts');
