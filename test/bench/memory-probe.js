/**
 * Loaded into a server under measurement with `--import`: on SIGUSR2 it writes what the process
 * holds (process.memoryUsage, V8's heap spaces, /proc's resident split, its threads) as JSON to
 * the file named by VOICEGATE_MEMORY_PROBE, after a full garbage collection when `--expose-gc`
 * is on (and a heap snapshot with VOICEGATE_MEMORY_SNAPSHOT=dir), so that the difference of two
 * readings is live memory and not garbage, and the event loop's busy and idle time so far.
 * Plain JavaScript on purpose: a TypeScript file loaded before the server's compile cache is on
 * would load Node's type stripper (about 11 MiB of RSS, kept for the process's life) into the
 * process under measurement, which `voicegate serve` with a warm cache does not load.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { getHeapSpaceStatistics, writeHeapSnapshot } from 'node:v8';

const out = process.env.VOICEGATE_MEMORY_PROBE;
const kB = (text, key) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? 0);

if (out) {
  process.on('SIGUSR2', () => {
    // Read before the collection: the event loop's time is the server's work, not the probe's.
    const { active, idle } = performance.eventLoopUtilization();
    // What the process holds before the collection: a server nobody asks to collect holds this.
    const { rss, heapUsed } = process.memoryUsage();
    globalThis.gc?.();
    const status = readFileSync('/proc/self/status', 'latin1');
    const spaces = Object.fromEntries(
      getHeapSpaceStatistics().map((s) => [s.space_name, [s.space_used_size, s.space_size]]),
    );
    writeFileSync(
      out,
      JSON.stringify({
        usage: process.memoryUsage(),
        beforeCollection: { rss, heapUsed },
        spaces,
        rssAnonKiB: kB(status, 'RssAnon'),
        rssFileKiB: kB(status, 'RssFile'),
        threads: readdirSync('/proc/self/task').length,
        // The event loop's busy and idle time so far (ms): the difference of two readings is
        // its utilisation in between.
        elu: { active, idle },
      }),
    );
    // VOICEGATE_MEMORY_SNAPSHOT=dir: a heap snapshot at each reading too, for DevTools.
    const dir = process.env.VOICEGATE_MEMORY_SNAPSHOT;
    if (dir) writeHeapSnapshot(`${dir}/voicegate-${Date.now()}.heapsnapshot`);
  });
}
