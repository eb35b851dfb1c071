import { isVoicegateError } from '../domain/errors.ts';
import { parseWav, toPcm16 } from '../media/wav.ts';
import { beep } from '../prompts/beep.ts';
import type { PlayResult } from './call.ts';
import type { RunContext } from './action.ts';
import { interpolate } from './vars.ts';

/** Plays a named prompt in the run's language; a prompt that cannot be had plays a tone. */
export async function playPrompt(
  ctx: RunContext,
  name: string,
  interruptible = true,
): Promise<PlayResult> {
  let samples: Int16Array;
  try {
    samples = ctx.deps.prompts.get(name, ctx.language);
  } catch (err) {
    ctx.log.warn(
      { prompt: name, err: isVoicegateError(err) ? err.message : String(err) },
      'prompt missing: playing a tone',
    );
    samples = beep();
  }
  return ctx.call.play(samples, { interruptible });
}

/** Speaks text (with `${variables}`) through the run-time speech synthesizer. */
export async function sayText(
  ctx: RunContext,
  text: string,
  interruptible = true,
): Promise<PlayResult> {
  const samples = await ctx.deps.speech.say(interpolate(text, ctx.vars), ctx.language);
  return ctx.call.play(samples, { interruptible });
}

/** A prompt name or text to speak, as menus and questions take them. */
export async function playCue(
  ctx: RunContext,
  cue: { prompt?: string; say?: string },
): Promise<PlayResult> {
  if (cue.prompt) return playPrompt(ctx, cue.prompt);
  if (cue.say) return sayText(ctx, cue.say);
  return 'done';
}

/** A stored WAV (a greeting) as 8 kHz mono samples; null when it is in another shape. */
export function wavSamples(bytes: Uint8Array): Int16Array | null {
  const wav = parseWav(bytes);
  if (wav.sampleRate !== 8000 || wav.channels !== 1) return null;
  return toPcm16(wav);
}
