/**
 * Garbage collections of a process started with --trace-gc, read from its log (V8 prints one
 * line per collection to stdout): how many, of which kind, and their pauses on the main thread.
 */
import { closeSync, openSync, readSync, statSync } from 'node:fs';

export interface GcCounts {
  /** Mark-compact collections of the whole heap, and their pauses (incremental steps aside). */
  full: number;
  fullMs: number;
  /** Scavenges of the young generation. */
  minor: number;
  minorMs: number;
}

const LINE = /: (Scavenge|Minor Mark-Sweep|Mark-Compact|Mark-Sweep)\b.*?, ([\d.]+) \/ [\d.]+ ms/;

/** Counts the collections the log holds from now until the returned function is called. */
export function gcMeter(logFile: string): () => GcCounts {
  const from = statSync(logFile).size;
  return () => {
    const to = statSync(logFile).size;
    const bytes = Buffer.alloc(to - from);
    const fd = openSync(logFile, 'r');
    try {
      readSync(fd, bytes, 0, bytes.length, from);
    } finally {
      closeSync(fd);
    }
    const counts: GcCounts = { full: 0, fullMs: 0, minor: 0, minorMs: 0 };
    for (const line of bytes.toString('latin1').split('\n')) {
      const m = LINE.exec(line);
      if (!m) continue;
      const ms = Number(m[2]);
      if (m[1] === 'Scavenge' || m[1] === 'Minor Mark-Sweep') {
        counts.minor++;
        counts.minorMs += ms;
      } else {
        counts.full++;
        counts.fullMs += ms;
      }
    }
    return counts;
  };
}
