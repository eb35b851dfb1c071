/** voicegate greeting, and the CLI options that match the admin area's pages. */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toneWav } from '../../server/media/tone.ts';
import { runCli } from '../helpers/cli.ts';

let dir: string;
let cfg: string[];
const cli = (args: string[], input?: string) => runCli([...cfg, ...args], { input });
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'voicegate-cli-greeting-'));
  cfg = ['--config', join(dir, 'voicegate.yaml')];
  expect(await runCli(['init', '--dir', dir])).toMatchObject({ code: 0 });
  expect(await cli(['mailbox', 'add', 'alice', '--extension', '201'], '1234\n')).toMatchObject({
    code: 0,
  });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('voicegate greeting', () => {
  it('records a greeting from a file, lists it, saves it back, removes it; all on record', async () => {
    const file = join(dir, 'busy.wav');
    writeFileSync(file, toneWav({ seconds: 1 }));
    expect(await cli(['greeting', 'set', 'alice', 'busy', file])).toMatchObject({
      code: 0,
      stdout: 'alice: busy greeting recorded (1.0 s)\n',
    });
    expect(await cli(['mailbox', 'set', '201', '--active-greeting', 'busy'])).toMatchObject({
      code: 0,
    });
    const list = JSON.parse((await cli(['greeting', 'list', 'alice', '--json'])).stdout);
    expect(list).toMatchObject({ active: 'busy', greetings: [{ kind: 'busy', durationMs: 1000 }] });
    const out = join(dir, 'out.wav');
    expect((await cli(['greeting', 'get', 'alice', 'busy', out])).code).toBe(0);
    expect(readFileSync(out).subarray(0, 4).toString()).toBe('RIFF');
    const party = await cli(['greeting', 'set', 'alice', 'party', file]);
    expect([party.code, party.stderr]).toEqual([
      2,
      'voicegate: greeting must be one of unavailable, busy, temporary, name (got "party")\n',
    ]);
    writeFileSync(join(dir, 'junk.wav'), 'not audio');
    const junk = await cli(['greeting', 'set', 'alice', 'busy', join(dir, 'junk.wav')]);
    expect(junk.code).toBe(1);
    expect(junk.stderr).toMatch(/not audio that can be read/);
    expect((await cli(['greeting', 'remove', 'alice', 'busy'])).code).toBe(0);
    const none = await cli(['greeting', 'get', 'alice', 'busy', out]);
    expect(none.stderr).toBe('voicegate: alice has no busy greeting\n');
    const audit = JSON.parse(
      (await cli(['audit', '--mailbox', 'alice', '--kind', 'mailbox-change', '--json'])).stdout,
    ) as { reason: string; channel: string }[];
    expect(audit.map((r) => r.reason)).toEqual([
      'busy greeting removed',
      'settings changed',
      'busy greeting recorded',
      'mailbox added',
    ]);
  }, 120_000); // ten runs of the CLI, each opening the store

  it('lists the queue of one target and the audit trail up to a time', async () => {
    expect(await cli(['queue', 'list', '--target', 'ews'])).toMatchObject({
      code: 0,
      stdout: 'the queue is empty\n',
    });
    const until = JSON.parse((await cli(['audit', '--until', '2000-01-01', '--json'])).stdout);
    expect(until).toEqual([]);
    const all = JSON.parse((await cli(['audit', '--until', '0m', '--json'])).stdout);
    expect(all.length).toBeGreaterThan(0);
    const bad = await cli(['audit', '--until', 'soon']);
    expect(bad.stderr).toMatch(/^voicegate: --until: "soon" is neither a date/);
  });
});
