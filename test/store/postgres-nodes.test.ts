// The PostgreSQL store across nodes: the change feed survives its connection being cut, and the
// leader lease moves to another node when the leader's connection ends.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OpenedStore } from '../../server/domain/ports.ts';
import { openRunOnce, openStore, type OpenedRunOnce } from '../../server/store/open-store.ts';
import { startPgCluster, type PgCluster } from '../helpers/postgres.ts';
import { addMailbox, deposit, Wakes } from './contract/fixtures.ts';

let cluster: PgCluster;
beforeAll(async () => {
  cluster = await startPgCluster();
}, 120_000);
afterAll(() => cluster?.stop(), 60_000);

const configOf = (url: string) => ({
  store: { backend: 'postgresql' as const, url },
  dataDir: '/nonexistent',
});

/** The backend pids of this database's connections with this application_name. */
async function pidsOf(url: string, name: string): Promise<number[]> {
  const db = new URL(url).pathname.slice(1);
  const rows = await cluster.query<{ pid: number }>(
    'SELECT pid FROM pg_stat_activity WHERE datname = $1 AND application_name = $2 ORDER BY pid',
    [db, name],
  );
  return rows.map((r) => r.pid);
}

async function until(what: string, check: () => Promise<boolean> | boolean, ms = 5000) {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`not within ${ms} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('the change feed across nodes', () => {
  it('misses nothing committed while its connection was cut (pg_terminate_backend)', async () => {
    const url = await cluster.createDatabase();
    const nodeA: OpenedStore = await openStore(configOf(url));
    const nodeB: OpenedStore = await openStore(configOf(url));
    try {
      const boxes = await Promise.all(
        ['alice', 'bob', 'carol'].map((n, i) => addMailbox(nodeB.store, n, String(201 + i))),
      );
      const wakes = new Wakes();
      const stop = nodeA.store.feed.subscribe(wakes.listener);
      const db = new URL(url).pathname.slice(1);
      // Cut the listeners while the database takes no new connections, so they cannot come
      // back before node B (on the connections its pool holds) has committed a deposit into
      // every mailbox: their NOTIFYs reach nobody.
      await until(
        'both listeners connected',
        async () => (await pidsOf(url, 'voicegate-feed')).length === 2,
      );
      await cluster.query(`ALTER DATABASE ${db} ALLOW_CONNECTIONS false`);
      try {
        await cluster.query(
          "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'voicegate-feed' AND datname = $1",
          [db],
        );
        await until(
          'the listeners gone',
          async () => (await pidsOf(url, 'voicegate-feed')).length === 0,
        );
        for (const b of boxes) await deposit(nodeB.store, b.id);
        expect(
          await pidsOf(url, 'voicegate-feed'),
          'no listener while the deposits committed',
        ).toEqual([]);
      } finally {
        await cluster.query(`ALTER DATABASE ${db} ALLOW_CONNECTIONS true`);
      }
      // Nothing is committed after the gap: only the catch-up after reconnecting can tell A.
      for (const box of boxes)
        await wakes.covering(box.id, await nodeA.store.highestModseq(box.id), 5000);
      stop();
    } finally {
      await nodeB.close();
      await nodeA.close();
    }
  }, 60_000);
});

describe('PostgreSQL restarted under load', () => {
  it('keeps every acknowledged deposit, refuses the rest as unavailable, and serves again after', async () => {
    const url = await cluster.createDatabase();
    const nodeA = await openStore(configOf(url));
    const nodeB = await openStore(configOf(url));
    try {
      const boxes = [
        await addMailbox(nodeB.store, 'alice', '201'),
        await addMailbox(nodeB.store, 'bob', '202'),
      ];
      const wakes = new Wakes();
      const stop = nodeA.store.feed.subscribe(wakes.listener);
      const acknowledged: string[] = [];
      const refused: string[] = [];
      let restarted = false;
      let afterRestart = 0;
      const writer = (async () => {
        for (let n = 0; !restarted || afterRestart < 5; n++) {
          try {
            const m = await deposit(nodeB.store, boxes[n % 2]!.id);
            acknowledged.push(m.id);
            if (restarted) afterRestart++;
          } catch (err) {
            refused.push(String((err as { code?: string }).code));
            await new Promise((r) => setTimeout(r, 20));
          }
        }
      })();
      await until('some deposits', () => acknowledged.length >= 5);
      await cluster.stopServer('fast');
      await new Promise((r) => setTimeout(r, 500));
      await cluster.startServer();
      restarted = true;
      await writer;

      expect(refused.length, 'deposits refused while PostgreSQL was down').toBeGreaterThan(0);
      expect(new Set(refused)).toEqual(new Set(['UNAVAILABLE']));
      for (const id of acknowledged) expect(await nodeA.store.getMessage(id)).not.toBeNull();
      expect(await nodeA.health()).toBeNull();
      for (const box of boxes)
        await wakes.covering(box.id, await nodeA.store.highestModseq(box.id), 5000);
      stop();
    } finally {
      await nodeB.close();
      await nodeA.close();
    }
  }, 60_000);
});

describe('the leader lease', () => {
  it('has one leader at a time, and another node takes over within seconds when it goes', async () => {
    const url = await cluster.createDatabase();
    await (await openStore(configOf(url))).close(); // the schema
    const nodes: OpenedRunOnce[] = [];
    for (let i = 0; i < 3; i++) nodes.push(await openRunOnce(configOf(url), { tryEveryMs: 200 }));
    const leaders = () => nodes.filter((n) => n.runsHere('housekeeping'));
    let most = 0;
    const sampler = setInterval(() => (most = Math.max(most, leaders().length)), 10);
    try {
      await until('a leader', () => leaders().length === 1);
      // Delivery runs on every node: its items are claimed one by one.
      expect(nodes.every((n) => n.runsHere('delivery'))).toBe(true);
      for (const work of ['pbx-lamps', 'pbx-registration'] as const)
        expect(nodes.filter((n) => n.runsHere(work))).toEqual(leaders());

      // The leader's process ends: its connection goes, and so does the lock.
      const first = leaders()[0]!;
      let t0 = performance.now();
      await first.close();
      nodes.splice(nodes.indexOf(first), 1);
      await until('a new leader', () => leaders().length === 1);
      const closedTakeover = performance.now() - t0;

      // The leader's connection is cut by the server (a network loss): it steps down at once.
      const second = leaders()[0]!;
      t0 = performance.now();
      await cluster.query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'voicegate-leader' AND datname = $1 AND pid = (SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted LIMIT 1)",
        [new URL(url).pathname.slice(1)],
      );
      await until('the leader stepped down', () => !second.runsHere('housekeeping'), 2000);
      await until('a leader again', () => leaders().length === 1);
      const cutTakeover = performance.now() - t0;
      expect(closedTakeover).toBeLessThan(3000);
      expect(cutTakeover).toBeLessThan(3000);
      expect(most).toBe(1);
    } finally {
      clearInterval(sampler);
      await Promise.all(nodes.map((n) => n.close()));
    }
  }, 60_000);
});
