// The store boundary of eslint.config.js, run through ESLint's API on one import line at a time,
// as `npm run check` would see it in that file.
import { resolve } from 'node:path';
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

const eslint = new ESLint({ cwd: resolve(import.meta.dirname, '../..') });

async function boundaryErrors(filePath: string, spec: string): Promise<number> {
  const code = `import { x } from '${spec}';\nexport { x };\n`;
  const [result] = await eslint.lintText(code, { filePath });
  return result!.messages.filter((m) => m.ruleId === 'no-restricted-imports').length;
}

describe('the store boundary', () => {
  it.each([
    ['server/context.ts', 'node:sqlite'],
    ['server/context.ts', './store/sqlite-store.ts'],
    ['server/server.ts', './store/audio-files.ts'],
    ['server/http/routes/x.ts', '../../store/change-feed.ts'],
    ['imap/x.ts', '../server/store/sqlite-store.ts'],
    ['server/cli/commands/x.ts', '../../store/migrations.ts'],
    ['test/http/x.test.ts', '../../server/store/sqlite-store.ts'],
    ['test/render/x.test.ts', 'node:sqlite'],
    ['server/server.ts', './store/postgres/pg-store.ts'],
    ['imap/x.ts', 'pg'],
  ])('refuses %s importing %s', async (file, spec) => {
    expect(await boundaryErrors(file, spec)).toBe(1);
  });

  it.each([
    ['server/context.ts', './store/open-store.ts'],
    ['test/render/x.test.ts', '../../server/store/open-store.ts'],
    ['server/store/x.ts', 'node:sqlite'],
    ['server/store/x.ts', './sqlite-store.ts'],
    ['test/store/x.test.ts', '../../server/store/sqlite-store.ts'],
    ['test/bench/x.ts', '../store/embedded.ts'],
    ['server/store/postgres/x.ts', 'pg'],
    ['server/store/x.ts', './postgres/open-postgres.ts'],
  ])('lets %s import %s', async (file, spec) => {
    expect(await boundaryErrors(file, spec)).toBe(0);
  });
});
