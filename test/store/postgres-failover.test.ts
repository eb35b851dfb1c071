// A PostgreSQL primary with a synchronous streaming standby, and two nodes given both hosts: the
// primary is lost, the standby promoted, and the nodes serve again on it with every voicemail
// they acknowledged before.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openRunOnce, openStore } from '../../server/store/open-store.ts';
import { startPgCluster, startPgStandby, type PgCluster } from '../helpers/postgres.ts';
import { addMailbox, deposit, Wakes } from './contract/fixtures.ts';

let primary: PgCluster;
let standby: PgCluster;
let db: string;
beforeAll(async () => {
  primary = await startPgCluster();
  // The database first: the standby is a copy of the primary as it is then.
  db = new URL(await primary.createDatabase()).pathname.slice(1);
  standby = await startPgStandby(primary, { synchronous: true });
}, 180_000);
afterAll(async () => {
  await primary?.stop();
  await standby?.stop();
}, 60_000);

async function until(what: string, check: () => Promise<boolean> | boolean, ms = 20_000) {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`not within ${ms} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('the primary lost and its synchronous standby promoted', () => {
  it('loses no acknowledged voicemail, and the nodes serve again on the new primary', async () => {
    // The standby first: a node must pass it over while it is in recovery.
    const url = `postgresql://postgres@127.0.0.1:${standby.port},127.0.0.1:${primary.port}/${db}?target_session_attrs=read-write`;
    const config = { store: { backend: 'postgresql' as const, url }, dataDir: '/nonexistent' };
    const nodeA = await openStore(config);
    const nodeB = await openStore(config);
    const leases = [
      await openRunOnce(config, { tryEveryMs: 200 }),
      await openRunOnce(config, { tryEveryMs: 200 }),
    ];
    const leaders = () => leases.filter((l) => l.runsHere('housekeeping')).length;
    try {
      expect(
        await standby.query<{ n: number }>(
          'SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1',
          [db],
        ),
      ).toEqual([{ n: 0 }]);
      const box = await addMailbox(nodeB.store, 'alice', '201');
      const wakes = new Wakes();
      const stop = nodeA.store.feed.subscribe(wakes.listener);
      await until('a leader', () => leaders() === 1);

      const acknowledged: string[] = [];
      const refused = new Set<string>();
      let lostAt = 0;
      let servedAt = 0;
      let promoted = false;
      const writer = (async () => {
        while (!servedAt || acknowledged.length < 40) {
          try {
            const m = await deposit(nodeB.store, box.id);
            acknowledged.push(m.id);
            if (promoted && !servedAt) servedAt = performance.now();
          } catch (err) {
            refused.add(String((err as { code?: string }).code));
            await new Promise((r) => setTimeout(r, 20));
          }
        }
      })();
      await until('deposits on the primary', () => acknowledged.length >= 10);
      // The primary crashes (no shutdown checkpoint, clients cut mid-commit).
      lostAt = performance.now();
      await primary.stopServer('immediate');
      const before = acknowledged.length;
      await standby.promote();
      promoted = true;
      await writer;
      const downMs = servedAt - lostAt;

      expect(new Set(refused)).toEqual(new Set(['UNAVAILABLE']));
      for (const id of acknowledged) expect(await nodeA.store.getMessage(id)).not.toBeNull();
      expect(acknowledged.length).toBeGreaterThan(before);
      expect(downMs, 'time until deposits succeed again').toBeLessThan(15_000);
      // Node A's feed listens on the new primary and wakes on node B's deposits there.
      const last = await deposit(nodeB.store, box.id);
      await wakes.covering(box.id, await nodeA.store.highestModseq(box.id), 10_000);
      expect(await nodeA.store.getMessage(last.id)).not.toBeNull();
      // The leader lease was taken again on the new primary.
      await until('a leader on the new primary', () => leaders() === 1);
      const onStandby = await standby.query<{ name: string }>(
        'SELECT DISTINCT application_name AS name FROM pg_stat_activity WHERE datname = $1 ORDER BY 1',
        [db],
      );
      expect(onStandby.map((r) => r.name)).toEqual([
        'voicegate',
        'voicegate-feed',
        'voicegate-leader',
      ]);
      stop();
      console.log(
        `failover: deposits refused for ${Math.round(downMs)} ms, primary lost to served`,
      );
    } finally {
      await Promise.all(leases.map((l) => l.close()));
      await nodeB.close();
      await nodeA.close();
    }
  }, 120_000);
});
