// The import rule of eslint.config.js (scripts/eslint-layers.js), run through ESLint's API on
// one import line at a time, as `npm run check` would see it in that file.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';
import { LAYERS } from '../../scripts/eslint-layers.js';

const root = resolve(import.meta.dirname, '../..');
const eslint = new ESLint({ cwd: root });

/** The layer-rule messages ESLint gives `code` placed at `filePath`. */
async function layerErrors(filePath: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath });
  return result!.messages.filter((m) => m.ruleId === 'voicegate/layers').map((m) => m.message);
}

const importLine = (spec: string): string => `import { x } from '${spec}';\nexport { x };\n`;

describe('the layer rule', () => {
  it.each([
    ['server/http/routes/x.ts', '../../server.ts'],
    ['server/http/routes/x.ts', '../../cli/main.ts'],
    ['server/http/x.ts', '../server.ts'],
    ['server/http/x.ts', '../../imap/imap-server.ts'],
    ['imap/x.ts', '../server/telephony/phone.ts'],
    ['imap/x.ts', '../server/http/app.ts'],
    ['imap/x.ts', '../server/server.ts'],
    ['imap/x.ts', '../exchange/x.ts'],
    ['exchange/x.ts', '../imap/imap-server.ts'],
    ['server/domain/x.ts', '../store/open-store.ts'],
    ['server/domain/sub/x.ts', '../../store/open-store.ts'],
    ['server/store/x.ts', '../http/app.ts'],
    ['server/http/routes/x.ts', '../../store/open-store.ts'],
    ['imap/x.ts', '../server/store/sqlite-store.ts'],
    ['server/smtp-in/x.ts', '../store/open-store.ts'],
    ['exchange/x.ts', '../server/store/open-store.ts'],
    ['server/sip/x.ts', '../domain/errors.ts'],
    ['server/sip/x.ts', '../rtp/rtp-packet.ts'],
    ['server/prompts/x.ts', '../flows/flow-deps.ts'],
    ['server/flows/voicemail/x.ts', '../../telephony/phone.ts'],
    ['server/flows/x.ts', '../sip/api.ts'],
    ['server/rtp/x.ts', '../sip/api.ts'],
    ['server/telephony/x.ts', '../http/app.ts'],
    ['server/smtp-in/x.ts', '../http/app.ts'],
    ['server/mail/x.ts', '../../imap/imap-server.ts'],
    ['server/domain/x.ts', '../../test/helpers/x.ts'],
    ['web/src/x.ts', '../../server/domain/errors.ts'],
  ])('reports %s importing %s', async (file, spec) => {
    expect(await layerErrors(file, importLine(spec))).toHaveLength(1);
  });

  it.each([
    ['server/http/routes/x.ts', '../../domain/errors.ts'],
    ['server/http/routes/x.ts', '../deps.ts'],
    ['server/http/x.ts', './routes/auth-routes.ts'],
    ['server/flows/voicemail/x.ts', '../flow-deps.ts'],
    ['server/flows/x.ts', '../prompts/ports.ts'],
    ['server/sip/x.ts', './api.ts'],
    ['server/telephony/x.ts', '../sip/api.ts'],
    ['imap/x.ts', '../server/domain/errors.ts'],
    ['imap/x.ts', '../server/render/voicemail-mime.ts'],
    ['server/server.ts', './telephony/phone.ts'],
    ['server/cli/commands/x.ts', '../../server.ts'],
    ['test/x.test.ts', '../server/server.ts'],
  ])('allows %s importing %s', async (file, spec) => {
    expect(await layerErrors(file, importLine(spec))).toEqual([]);
  });

  it('sees re-exports, dynamic imports and import types', async () => {
    const file = 'server/domain/x.ts';
    expect(await layerErrors(file, "export * from '../store/open-store.ts';\n")).toHaveLength(1);
    expect(await layerErrors(file, "export { y } from '../store/open-store.ts';\n")).toHaveLength(
      1,
    );
    expect(
      await layerErrors(file, "export const m = await import('../store/open-store.ts');\n"),
    ).toHaveLength(1);
    expect(
      await layerErrors(file, "export type S = import('../store/open-store.ts').Store;\n"),
    ).toHaveLength(1);
  });

  it('keeps the domain, net and SIP to node built-ins', async () => {
    for (const file of ['server/domain/x.ts', 'server/net/x.ts', 'server/sip/x.ts']) {
      expect(await layerErrors(file, importLine('pino'))).toHaveLength(1);
      expect(await layerErrors(file, importLine('node:crypto'))).toEqual([]);
    }
  });

  it('names what the folder may import', async () => {
    const [message] = await layerErrors('imap/x.ts', importLine('../server/telephony/phone.ts'));
    expect(message).toContain('imap may not import server/telephony');
    expect(message).toContain('server/domain, server/render, server/net');
  });
});

describe('the layer table and the READMEs', () => {
  /** server/README.md's table: folder or file -> the `may import` cell. */
  function serverTable(): Map<string, string> {
    const rows = readFileSync(resolve(root, 'server/README.md'), 'utf8')
      .split('\n')
      .filter((l) => l.startsWith('| `'));
    return new Map(
      rows.map((l) => {
        const cells = l.split('|').map((c) => c.trim());
        return [cells[1]!.replace(/`/g, '').replace(/\/$/, ''), cells[3]!];
      }),
    );
  }

  it('server/README.md has a row for every server layer, naming exactly what it may import', () => {
    const table = serverTable();
    const layers = Object.entries(LAYERS).filter(([name]) => name.startsWith('server/'));
    for (const [name, { may }] of layers) {
      const cell = table.get(name.slice('server/'.length));
      expect(cell, `server/README.md has no row for ${name}`).toBeDefined();
      if (may.includes('*')) {
        expect(cell).toMatch(/^everything/);
        continue;
      }
      const named = [...cell!.matchAll(/`([^`]+)`/g)].map(
        (m) => `server/${m[1]!.replace(/\/$/, '')}`,
      );
      expect(named.sort(), `${name}'s row`).toEqual([...may].sort());
    }
    expect(table.size, 'a README row with no layer').toBe(layers.length);
  });

  it.each([
    ['imap', 'imap/README.md'],
    ['exchange', 'exchange/README.md'],
  ])('%s imports what %s says', (layer, readme) => {
    const text = readFileSync(resolve(root, readme), 'utf8');
    const line = text.slice(text.indexOf('May import')).split('never')[0]!;
    const named = [...line.matchAll(/`([^`]+)`/g)].map((m) => m[1]!.replace(/\/$/, ''));
    expect(named.sort()).toEqual([...LAYERS[layer]!.may].sort());
  });
});
