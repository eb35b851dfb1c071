import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.ts';
import { EwsServer } from '../support/ews-server.ts';
import { GraphServer } from '../support/graph-server.ts';

const ALICE = 'alice@contoso.example';
let graph: GraphServer;
let ews: EwsServer;
let dir: string;

function config(connections: unknown[]): string[] {
  const file = join(dir, `c${Math.random()}.yaml`);
  writeFileSync(
    file,
    `server:\n  dataDir: .\nexchange:\n  connections: ${JSON.stringify(connections)}\n`,
  );
  return ['--config', file];
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'voicegate-exchange-test-'));
  graph = await GraphServer.start({ users: [ALICE] });
  ews = await EwsServer.start([ALICE]);
});
afterAll(async () => {
  await graph.close();
  await ews.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('voicegate exchange test', () => {
  it('says, one line per step, that Graph and EWS work, and leaves nothing behind', async () => {
    for (const c of [graph.connection(), ews.connection()]) {
      const r = await runCli([...config([c]), 'exchange', 'test', ALICE]);
      expect(r.code).toBe(0);
      expect(r.stdout.trim().split('\n')).toEqual([
        expect.stringMatching(/^ok {6}read the Inbox: (Graph|EWS) at /),
        expect.stringMatching(/^ok {6}create a voicemail: created /),
        expect.stringMatching(/^ok {6}remove it: removed$/),
      ]);
    }
    expect(graph.messages(ALICE)).toHaveLength(0);
    expect(ews.items(ALICE)).toHaveLength(0);
  });

  it('says what is refused and why, and exits non-zero', async () => {
    const bad = await runCli([
      ...config([{ ...graph.connection(), clientSecret: 'wrong' }]),
      'exchange',
      'test',
      ALICE,
      '--read-only',
    ]);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toMatch(/^REFUSED refused: token refused: invalid_client .*AADSTS7000215/m);
    const nobody = await runCli([
      ...config([ews.connection()]),
      'exchange',
      'test',
      'nobody@contoso.example',
    ]);
    expect(nobody.stdout).toMatch(
      /REFUSED refused: .*no such Exchange mailbox \(ErrorNonExistentMailbox\)/,
    );
  });
});
