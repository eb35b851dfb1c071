/**
 * Whether a recording holds a given clip (a built prompt) somewhere: the best normalised
 * cross-correlation of the clip's samples against the recording, near 1 when the clip was
 * played through G.711 and heard, far lower for other speech. A coarse search on 10 ms energy
 * envelopes finds candidate places, then the samples themselves are compared around each.
 */
const FRAME = 80;

function envelope(samples: Int16Array): Float64Array {
  const out = new Float64Array(Math.floor(samples.length / FRAME));
  for (let f = 0; f < out.length; f++) {
    let sum = 0;
    for (let i = f * FRAME; i < (f + 1) * FRAME; i++) sum += Math.abs(samples[i]!);
    out[f] = sum / FRAME;
  }
  return out;
}

function ncc(a: ArrayLike<number>, b: ArrayLike<number>, offset: number, length: number): number {
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < length; i++) {
    const x = a[offset + i]!;
    const y = b[i]!;
    ab += x * y;
    aa += x * x;
    bb += y * y;
  }
  return aa === 0 || bb === 0 ? 0 : ab / Math.sqrt(aa * bb);
}

export function clipCorrelation(recording: Int16Array, clip: Int16Array): number {
  const rec = envelope(recording);
  const env = envelope(clip);
  if (env.length === 0 || rec.length < env.length) return 0;
  const coarse: { frame: number; score: number }[] = [];
  for (let f = 0; f + env.length <= rec.length; f++)
    coarse.push({ frame: f, score: ncc(rec, env, f, env.length) });
  coarse.sort((x, y) => y.score - x.score);
  let best = 0;
  for (const { frame } of coarse.slice(0, 5)) {
    const centre = frame * FRAME;
    for (let off = Math.max(0, centre - FRAME); off <= centre + FRAME; off++) {
      if (off + clip.length > recording.length) break;
      best = Math.max(best, ncc(recording, clip, off, clip.length));
    }
  }
  return best;
}

/**
 * The clip without its leading and trailing silence (below `floor`): the words alone. A phone's
 * jitter buffer holds the last few packets of a stream until more come, so a recording that
 * ends with the call may lack a clip's final silence, never its words.
 */
export function trimSilence(clip: Int16Array, floor = 64): Int16Array {
  let start = 0;
  let end = clip.length;
  while (start < end && Math.abs(clip[start]!) < floor) start++;
  while (end > start && Math.abs(clip[end - 1]!) < floor) end--;
  return clip.subarray(start, end);
}
