/**
 * Loaded into a server under measurement with `--import`: keeps, from its start, each garbage
 * collection (when it began, in ms since the epoch, how long it held the thread, its kind) and
 * each HTTP request the server answered (began, took, method and URL, as Node's `http`
 * performance entries give them), and on SIGUSR2 writes them as JSON to the file named by
 * VOICEGATE_PAUSE_PROBE, with the event loop's busy and idle time so far. A slow request seen
 * by the client can so be matched with what the server was doing at that moment.
 */
import { writeFileSync } from 'node:fs';
import {
  constants,
  performance,
  PerformanceObserver,
  type PerformanceEntry,
} from 'node:perf_hooks';

const out = process.env.VOICEGATE_PAUSE_PROBE;

export interface PauseReading {
  /** When this reading was written (ms since the epoch). */
  written: number;
  gc: { at: number; ms: number; kind: string }[];
  http: { at: number; ms: number; url: string }[];
  elu: { active: number; idle: number };
}

const KINDS: Record<number, string> = {
  [constants.NODE_PERFORMANCE_GC_MINOR]: 'scavenge',
  [constants.NODE_PERFORMANCE_GC_MAJOR]: 'mark-compact',
  [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental marking',
  [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'weak callbacks',
};

if (out) {
  const reading: PauseReading = { written: 0, gc: [], http: [], elu: { active: 0, idle: 0 } };
  const at = (start: number) => performance.timeOrigin + start;
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      if (e.entryType === 'gc') {
        const detail = (e as PerformanceEntry & { detail?: unknown }).detail;
        const kind = (detail as { kind?: number } | null)?.kind ?? 0;
        reading.gc.push({ at: at(e.startTime), ms: e.duration, kind: KINDS[kind] ?? String(kind) });
      } else {
        const detail = (e as PerformanceEntry & { detail?: unknown }).detail;
        const req = (detail as { req?: { url?: string } } | null)?.req;
        reading.http.push({ at: at(e.startTime), ms: e.duration, url: req?.url ?? '' });
      }
    }
  }).observe({ entryTypes: ['gc', 'http'] });
  process.on('SIGUSR2', () => {
    reading.elu = performance.eventLoopUtilization();
    reading.written = Date.now();
    writeFileSync(out, JSON.stringify(reading));
  });
}
