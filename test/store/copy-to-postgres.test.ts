// `voicegate store migrate --to postgresql://...`: an embedded store copied into PostgreSQL,
// interrupted (SIGKILL) and resumed, then served from PostgreSQL as it was.
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Context } from '../../server/context.ts';
import { toneWav } from '../../server/media/tone.ts';
import { openStore } from '../../server/store/open-store.ts';
import { BIN, runCli } from '../helpers/cli.ts';
import { startPgCluster, type PgCluster } from '../helpers/postgres.ts';
import { tempData, type TempData } from '../helpers/temp-data.ts';

let cluster: PgCluster;
let data: TempData;
let ctx: Context;

beforeAll(async () => {
  cluster = await startPgCluster();
  data = tempData();
  ctx = await data.open();
  // A store as a demo leaves it: mailboxes, messages in several states, a greeting, a group,
  // a mail waiting in the queue (no mail server configured), a web session.
  const alice = await ctx.mailboxes.add(
    { name: 'alice', extension: '201', email: 'alice@example.com', emailMode: 'copy' },
    '1234',
  );
  const bob = await ctx.mailboxes.add({ name: 'bob', extension: '202' }, '1234');
  await ctx.mailboxes.add({ name: 'sales', extension: '300', kind: 'group' }, '1234');
  await ctx.mailboxes.setGroupMembers('sales', ['alice', 'bob']);
  for (let i = 0; i < 40; i++)
    await ctx.messages.deposit({
      mailbox: i % 2 ? 'alice' : 'bob',
      audio: toneWav({ seconds: 1, frequency: 300 + i * 10 }),
      callerNumber: `55501${i}`,
      callerName: 'Caller',
    });
  const [first] = await ctx.store.listMessages(bob.id);
  await ctx.messages.act(bob.id, first!.id, 'save');
  await ctx.messages.setGreeting('alice', 'unavailable', toneWav({ seconds: 2, frequency: 500 }));
  await ctx.store.createWebSession({
    tokenHash: 'hash',
    mailboxId: alice.id,
    csrfToken: 'csrf',
    createdAt: Date.now(),
    expiresAt: Date.now() + 3_600_000,
  });
  // Alice's voicemail lives in Exchange: her home, where reading back got to, an item made.
  await ctx.store.setMailboxHome(alice.id, {
    home: 'exchange',
    exchangeAddress: 'alice@example.com',
    exchangeConnection: 'corp',
  });
  await ctx.store.setExchangeSyncState(alice.id, 'delta-link-1');
  await ctx.store.setWebPreferences(alice.id, { listOrder: 'priority' });
  const [hers] = await ctx.store.listMessages(alice.id);
  await ctx.store.setExchangeItem(hers!.id, { itemId: 'AAMk-1', changeKey: 'CQAA-1' });
  // An administrator, and what the audit trail kept (details in JSON, with nested values).
  await ctx.store.createAdmin({ name: 'root', passwordHash: 'hash', createdAt: Date.now() });
  await ctx.store.addAudit({
    at: Date.now(),
    kind: 'mailbox-change',
    channel: 'cli',
    principal: 'admin:root',
    mailbox: 'alice',
    client: null,
    outcome: 'success',
    reason: null,
    details: { name: { before: 'alice', after: 'alice' }, extension: ['200', '201'] },
  });
  await ctx.close();
}, 180_000);

afterAll(async () => {
  data?.remove();
  await cluster?.stop();
}, 60_000);

/** Runs the copy and kills it (SIGKILL) once it has copied some audio. */
function interruptedCopy(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [BIN, '--config', data.configFile, 'store', 'migrate', '--to', url],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let err = '';
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
      if (/audio: [1-9]\d*\/\d+/.test(err)) child.kill('SIGKILL');
    });
    child.on('error', reject);
    child.on('close', () => resolve(err));
  });
}

describe('voicegate store migrate', () => {
  it('copies an embedded store, resumes after being killed, and the copy serves the same voicemail', async () => {
    const url = await cluster.createDatabase();
    const partial = await interruptedCopy(url);
    expect(partial).toMatch(/audio: \d+\/4\d/);
    expect(partial).not.toMatch(/verify/);

    const resumed = await runCli(['--config', data.configFile, 'store', 'migrate', '--to', url]);
    expect(resumed.stderr).toMatch(/verify audio: 41\/41/);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stdout).toMatch(
      /^resumed and finished: 3 mailbox, 1 mailbox_home, 2 group_member, 1 greeting, 40 message, 1 exchange_item, .*41 audio; counts and checksums match/m,
    );
    expect(resumed.stdout).toContain('now set store.backend: postgresql');
    // Run again: nothing to copy, verified again.
    const again = await runCli(['--config', data.configFile, 'store', 'migrate', '--to', url]);
    expect(again.code, again.stderr).toBe(0);

    const before = await data.open();
    const after = await openStore({ store: { backend: 'postgresql', url }, dataDir: data.dir });
    try {
      expect(await after.store.listMailboxes()).toEqual(await before.store.listMailboxes());
      for (const box of await before.store.listMailboxes()) {
        expect(await after.store.listMessages(box.id)).toEqual(
          await before.store.listMessages(box.id),
        );
        expect(await after.store.changesSince(box.id, 0)).toEqual(
          await before.store.changesSince(box.id, 0),
        );
        expect(await after.store.listGreetings(box.id)).toEqual(
          await before.store.listGreetings(box.id),
        );
        expect(await after.store.groupMembers(box.id)).toEqual(
          await before.store.groupMembers(box.id),
        );
        expect(await after.store.getMailboxHome(box.id)).toEqual(
          await before.store.getMailboxHome(box.id),
        );
        expect(await after.store.getExchangeSyncState(box.id)).toEqual(
          await before.store.getExchangeSyncState(box.id),
        );
        expect(await after.store.getWebPreferences(box.id)).toEqual(
          await before.store.getWebPreferences(box.id),
        );
        for (const m of await before.store.listMessages(box.id))
          expect(await after.store.getExchangeItem(m.id)).toEqual(
            await before.store.getExchangeItem(m.id),
          );
      }
      expect(await after.store.listExchangeHomes()).toEqual([
        {
          mailboxId: 1,
          home: {
            home: 'exchange',
            exchangeAddress: 'alice@example.com',
            exchangeConnection: 'corp',
          },
        },
      ]);
      expect(await after.store.listDeliveries()).toEqual(await before.store.listDeliveries());
      expect(await after.store.getWebSession('hash', Date.now())).toEqual(
        await before.store.getWebSession('hash', Date.now()),
      );
      expect(await after.store.listAdmins()).toEqual(await before.store.listAdmins());
      expect(await after.store.queryAudit({ limit: 100 })).toEqual(
        await before.store.queryAudit({ limit: 100 }),
      );
      const [m] = await before.store.listMessages(1);
      expect(
        (await after.audio.read(m!.audio.key)).equals(await before.audio.read(m!.audio.key)),
      ).toBe(true);
      // The copy goes on where the embedded store was: the next UID, modseq and queue id.
      const alice = (await before.store.findMailbox('alice'))!;
      const next = await before.store.folderSnapshot(alice.id, 'inbox');
      const [added] = (
        await after.store.addMessages(
          [{ ...m!, id: 'after-copy', identity: 'after-copy@x', mailboxId: alice.id }],
          Date.now(),
        )
      ).messages;
      expect(added!.uid).toBe(next.uidNext);
      expect(added!.modseq).toBe(next.modseq + 1);
    } finally {
      await before.close();
      await after.close();
    }
  }, 180_000);

  it('refuses a database that is not empty', async () => {
    const url = await cluster.createDatabase();
    const other = await openStore({ store: { backend: 'postgresql', url }, dataDir: data.dir });
    await other.store.createMailbox({
      kind: 'user',
      name: 'zed',
      extension: null,
      codeHash: 'x',
      fullName: '',
      email: null,
      emailMode: 'off',
      umsAccess: true,
      locale: 'en-US',
      timeZone: 'UTC',
      trustedNumbers: [],
      breakouts: {},
      broadcast: false,
      activeGreeting: 'unavailable',
    });
    await other.close();
    const refused = await runCli(['--config', data.configFile, 'store', 'migrate', '--to', url]);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('the PostgreSQL database is not empty');
  }, 60_000);
});
