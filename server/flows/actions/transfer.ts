import { Type } from '@sinclair/typebox';
import { defineAction, NEXT } from '../action.ts';
import { playPrompt } from '../audio.ts';
import { interpolate } from '../vars.ts';

/**
 * Blind transfer (REFER) to a number. When the far end refuses, the run goes to `failed`, or
 * says so and goes on to the next step.
 */
export const transfer = defineAction({
  schema: Type.Object(
    {
      to: Type.String({ pattern: '^(\\+?[0-9*#]+|\\$\\{[A-Za-z][A-Za-z0-9_]*\\})$' }),
      prompt: Type.String({ minLength: 1, default: 'please-hold' }),
      failed: Type.Optional(Type.String({ minLength: 1 })),
    },
    { additionalProperties: false },
  ),
  shorthand: (to) => ({ to }),
  targets: (p) => (p.failed ? [{ at: 'failed', name: p.failed }] : []),
  prompts: (p) => [{ at: 'prompt', name: p.prompt }],
  dials: (p) => [{ at: 'to', name: p.to }],
  waits: false,
  continues: true,
  async run(p, ctx) {
    if ((await playPrompt(ctx, p.prompt, false)) === 'hangup') return { end: 'hangup' };
    const target = interpolate(p.to, ctx.vars);
    const result = await ctx.call.transfer(target);
    if (result === 'transferred') {
      ctx.log.info({ target }, 'call transferred');
      return { end: 'transferred' };
    }
    ctx.log.warn({ target, result }, 'transfer refused');
    // A number outside the dial plan (only a `${variable}` one gets here: validation refuses
    // literal ones) is said to the caller; then the run goes on as after any refusal.
    const why =
      result === 'not-allowed' ? 'number-not-allowed' : p.failed ? null : 'transfer-failed';
    if (why && (await playPrompt(ctx, why, false)) === 'hangup') return { end: 'hangup' };
    if (p.failed) return { goto: p.failed };
    return NEXT;
  },
});
