// No import loops inside the SIP stack, nor between call flows and prompts: a loop there means
// two files that can only be understood, and changed, together. Type-only imports count too.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '../..');

function tsFiles(dir: string): string[] {
  return readdirSync(join(root, dir), { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return tsFiles(path);
    return e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [path] : [];
  });
}

/** Each file's relative imports (static, re-exports and dynamic), as paths from the root. */
function importGraph(dirs: string[]): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  const spec = /(?:\bfrom\s*|\bimport\s*\(?\s*)['"](\.{1,2}\/[^'"]+)['"]/g;
  for (const file of dirs.flatMap(tsFiles)) {
    const src = readFileSync(join(root, file), 'utf8');
    const targets = [...src.matchAll(spec)].map((m) =>
      relative(root, resolve(root, dirname(file), m[1]!)),
    );
    graph.set(file, targets);
  }
  return graph;
}

/** Every loop in the graph, each once, as the files around it (first file repeated last). */
function cycles(graph: Map<string, string[]>): string[][] {
  const found: string[][] = [];
  const state = new Map<string, 'open' | 'done'>();
  const path: string[] = [];
  const visit = (file: string): void => {
    state.set(file, 'open');
    path.push(file);
    for (const next of graph.get(file) ?? []) {
      if (!graph.has(next)) continue;
      if (state.get(next) === 'open') found.push([...path.slice(path.indexOf(next)), next]);
      else if (!state.has(next)) visit(next);
    }
    path.pop();
    state.set(file, 'done');
  };
  for (const file of graph.keys()) if (!state.has(file)) visit(file);
  return found;
}

describe('import cycles', () => {
  it('finds a loop when there is one (the check checks)', () => {
    const graph = new Map([
      ['a.ts', ['b.ts']],
      ['b.ts', ['c.ts']],
      ['c.ts', ['a.ts']],
    ]);
    expect(cycles(graph)).toEqual([['a.ts', 'b.ts', 'c.ts', 'a.ts']]);
  });

  it('server/sip has none', () => {
    expect(cycles(importGraph(['server/sip']))).toEqual([]);
  });

  it('server/flows and server/prompts have none, together', () => {
    expect(cycles(importGraph(['server/flows', 'server/prompts']))).toEqual([]);
  });

  it('server/prompts never imports server/flows', () => {
    const upward = [...importGraph(['server/prompts'])].flatMap(([file, targets]) =>
      targets.filter((t) => t.startsWith('server/flows/')).map((t) => `${file} -> ${t}`),
    );
    expect(upward).toEqual([]);
  });
});
