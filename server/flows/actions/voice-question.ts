import { Type } from '@sinclair/typebox';
import { defineAction, NEXT } from '../action.ts';
import { playCue, playPrompt } from '../audio.ts';

/**
 * Asks a question and records the answer (after a tone, until #, silence or the maximum) into
 * a variable; `email` sends it on. `${name}` then holds the answer's length in seconds.
 */
export const voiceQuestion = defineAction({
  schema: Type.Object(
    {
      prompt: Type.Optional(Type.String({ minLength: 1 })),
      say: Type.Optional(Type.String({ minLength: 1 })),
      into: Type.String({ pattern: '^[A-Za-z][A-Za-z0-9_]*$' }),
      maxSeconds: Type.Number({ default: 60, minimum: 1, maximum: 600 }),
      silenceSeconds: Type.Number({ default: 4, minimum: 0, maximum: 60 }),
    },
    { additionalProperties: false },
  ),
  check: (p) => (p.prompt === undefined && p.say === undefined ? ['needs a prompt or say'] : []),
  prompts: (p) => (p.prompt ? [{ at: 'prompt', name: p.prompt }] : []),
  waits: true,
  continues: true,
  async run(p, ctx) {
    if ((await playCue(ctx, p)) === 'hangup') return { end: 'hangup' };
    ctx.call.clearKeys();
    if ((await playPrompt(ctx, 'tone', false)) === 'hangup') return { end: 'hangup' };
    const rec = await ctx.call.record({
      maxMs: p.maxSeconds * 1000,
      silenceMs: p.silenceSeconds * 1000,
      stopKeys: '#',
    });
    // An answer cut short by hanging up is still an answer: later offline steps may send it.
    if (rec.samples.length > 0) {
      ctx.recordings.set(p.into, rec.samples);
      ctx.lastRecording = rec.samples;
    }
    ctx.vars[p.into] = (rec.samples.length / 8000).toFixed(1);
    ctx.log.info(
      { into: p.into, ms: Math.round(rec.samples.length / 8), endedBy: rec.endedBy },
      'answer recorded',
    );
    return NEXT;
  },
});
