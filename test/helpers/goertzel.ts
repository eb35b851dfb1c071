/**
 * Goertzel tone check: how much of a signal's energy sits at one frequency. A pure sine at
 * `frequency` gives about 1, silence or another tone about 0, so tests can assert "this is the
 * 1 kHz tone we sent" without an FFT or a golden file.
 */

/** Squared magnitude of the DFT term at `frequency` (not restricted to integer bins). */
export function goertzelPower(
  samples: ArrayLike<number>,
  frequency: number,
  sampleRate = 8000,
): number {
  const coeff = 2 * Math.cos((2 * Math.PI * frequency) / sampleRate);
  let s1 = 0;
  let s2 = 0;
  for (let i = 0; i < samples.length; i++) {
    const s0 = samples[i]! + coeff * s1 - s2;
    s2 = s1;
    s1 = s0;
  }
  return s1 * s1 + s2 * s2 - coeff * s1 * s2;
}

/** Share of the signal's energy at `frequency`, in [0, 1] (0 for silence). */
export function toneRatio(
  samples: ArrayLike<number>,
  frequency: number,
  sampleRate = 8000,
): number {
  let energy = 0;
  for (let i = 0; i < samples.length; i++) energy += samples[i]! * samples[i]!;
  if (energy === 0 || samples.length === 0) return 0;
  // A sine of amplitude A over N samples: |X|^2 = (A N / 2)^2 and energy = A^2 N / 2.
  return Math.min(
    1,
    goertzelPower(samples, frequency, sampleRate) / ((energy * samples.length) / 2),
  );
}
