import { mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FlowSet } from '../../server/flows/flow-set.ts';

const dir = mkdtempSync(join(tmpdir(), 'voicegate-flows-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const flows = (number: string, target = 'end') => `
flows:
  main:
    numbers: ['${number}']
    steps:
      - goto: ${target}
      - id: end
        hangup: goodbye
`;

/** Writes the file with a distinct modification time, as an editor saving later would. */
let tick = 1_700_000_000;
function save(file: string, text: string): void {
  writeFileSync(file, text);
  tick += 10;
  utimesSync(file, tick, tick);
}

describe('FlowSet', () => {
  it('starts with the built-in flows, picks up changes and keeps the last good version', async () => {
    const file = join(dir, 'flows.yaml');
    const errors: object[] = [];
    const log = { info() {}, debug() {}, warn() {}, error: (o: object) => errors.push(o) };
    const set = new FlowSet({ file, log, context: () => ({ promptNames: new Set(['goodbye']) }) });

    const none = await set.current();
    expect(none.source).toBeNull();
    expect([...none.flows.keys()]).toEqual(['builtin-leave-message', 'builtin-collect-messages']);
    expect(set.loadedAt).toBeNull();

    save(file, flows('5000'));
    expect([...(await set.current()).byNumber.keys()]).toEqual(['5000']);

    save(file, flows('5001'));
    const before = Date.now();
    expect([...(await set.current()).byNumber.keys()]).toEqual(['5001']);
    const loadedAt = set.loadedAt!;
    expect(loadedAt).toBeGreaterThanOrEqual(before);

    // A broken edit is logged and ignored: calls keep the previous flows.
    save(file, flows('5002', 'nowhere'));
    expect([...(await set.current()).byNumber.keys()]).toEqual(['5001']);
    expect(set.errors).toEqual(['flows.main.steps[0].goto: no step "nowhere"']);
    expect(errors).toHaveLength(1);
    // The admin area shows when the flows in use were read: not when a broken file was.
    expect(set.loadedAt).toBe(loadedAt);

    // Unchanged file: not read or logged again.
    await set.current();
    expect(errors).toHaveLength(1);

    save(file, flows('5003'));
    expect([...(await set.current()).byNumber.keys()]).toEqual(['5003']);
    expect(set.errors).toEqual([]);

    rmSync(file);
    expect((await set.current()).byNumber.size).toBe(0);
    expect(set.loadedAt).toBeNull();
  });
});
