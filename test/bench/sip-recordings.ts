/**
 * "Every recording intact": each call placed left exactly one message, of the expected length,
 * holding that call's own tone from end to end without a hole.
 */
import { readFileSync } from 'node:fs';
import { parseWav, toPcm16 } from '../../server/media/wav.ts';
import { toneRatio } from '../helpers/goertzel.ts';
import { percentile } from './bench-kit.ts';
import type { CallResult } from './sip-calls.ts';
import type { StoredMessage } from './sip-server.ts';

export interface Integrity {
  calls: number;
  /** Messages stored by this step's callers. */
  stored: number;
  intact: number;
  /** Silence recorded before the tone began (the caller hears the tone end, then starts). */
  leadInMsP50: number;
  leadInMsMax: number;
  /** The first few problems, one line each. */
  problems: string[];
}

const BLOCK = 160;
/** The callers' tone is about 5,600 RMS; G.711 silence decodes to 0. */
const LOUD_RMS = 1000;
const MIN_TONE_RATIO = 0.9;
/** Lead-in silence and the 100 ms tail the recorder keeps, at most. */
const SLACK_MS = 1000;
const PROBLEMS_KEPT = 8;

interface Shape {
  /** 20 ms blocks with sound, the first and last of them. */
  loud: number;
  first: number;
  last: number;
  blocks: number;
}

function shape(samples: Int16Array): Shape {
  const blocks = Math.floor(samples.length / BLOCK);
  let first = -1;
  let last = -1;
  let loud = 0;
  for (let b = 0; b < blocks; b++) {
    let sum = 0;
    for (let i = b * BLOCK; i < (b + 1) * BLOCK; i++) sum += samples[i]! * samples[i]!;
    if (Math.sqrt(sum / BLOCK) < LOUD_RMS) continue;
    loud++;
    if (first < 0) first = b;
    last = b;
  }
  return { loud, first, last, blocks };
}

/** The lead-in (ms) of an intact recording, or what is wrong with it. */
function check(samples: Int16Array, c: CallResult, toneSeconds: number): string | number {
  const s = shape(samples);
  const ms = (samples.length / 8000) * 1000;
  const expected = toneSeconds * 50;
  const where =
    s.loud === 0
      ? 'no sound'
      : `sound from ${s.first * 20} ms to ${(s.last + 1) * 20} ms, ` +
        `${(s.blocks - s.last - 1) * 20} ms after it`;
  if (ms < toneSeconds * 1000 || ms > toneSeconds * 1000 + SLACK_MS)
    return `${ms.toFixed(0)} ms long, ${toneSeconds * 1000} sent (${where})`;
  if (Math.abs(s.loud - expected) > 1)
    return `${s.loud} blocks of 20 ms with sound, ${expected} sent (${where})`;
  if (s.last - s.first + 1 !== s.loud)
    return `${s.last - s.first + 1 - s.loud} silent blocks inside the tone (${where})`;
  const ratio = toneRatio(samples.subarray(s.first * BLOCK, (s.last + 1) * BLOCK), c.frequency);
  if (ratio < MIN_TONE_RATIO) return `${c.frequency} Hz holds ${ratio.toFixed(2)} of the energy`;
  return s.first * 20;
}

export function checkRecordings(
  results: CallResult[],
  stored: StoredMessage[],
  toneSeconds: number,
): Integrity {
  const byNumber = new Map<string, StoredMessage[]>();
  for (const m of stored) {
    const list = byNumber.get(m.callerNumber ?? '') ?? [];
    list.push(m);
    byNumber.set(m.callerNumber ?? '', list);
  }
  const problems: string[] = [];
  const leadIns: number[] = [];
  let intact = 0;
  for (const c of results) {
    const found = byNumber.get(c.number) ?? [];
    let problem: string | null = null;
    if (found.length !== 1) {
      problem = `${found.length} messages (call ${c.outcome}: ${c.reason})`;
    } else {
      const samples = toPcm16(parseWav(readFileSync(found[0]!.path)));
      const r = check(samples, c, toneSeconds);
      if (typeof r === 'string') problem = r;
      else leadIns.push(r);
    }
    if (problem === null) intact++;
    else if (problems.length < PROBLEMS_KEPT)
      problems.push(`call ${c.i} (${c.number}): ${problem}`);
  }
  return {
    calls: results.length,
    stored: stored.length,
    intact,
    leadInMsP50: percentile(leadIns, 50),
    leadInMsMax: leadIns.length ? Math.max(...leadIns) : NaN,
    problems,
  };
}
