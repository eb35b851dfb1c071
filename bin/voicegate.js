#!/usr/bin/env node
// Plain JavaScript on purpose: it must run on any Node to say clearly when Node is too old,
// before loading the TypeScript sources that need Node 24's type stripping.
const major = Number(process.versions.node.split('.')[0]);
if (major < 24) {
  process.stderr.write(
    `voicegate: Node.js 24 or later is required (this is ${process.version}); ` +
      'run it through npm (npm start, npx voicegate) to use the Node 24 the project installs.\n',
  );
  process.exit(1);
}
await import('../server/cli/main.ts');
