import { Type } from '@sinclair/typebox';
import { defineAction } from '../action.ts';
import { playPrompt } from '../audio.ts';

/** Ends the call, after a prompt when one is named (`hangup: goodbye`). */
export const hangup = defineAction({
  schema: Type.Object(
    { prompt: Type.Optional(Type.String({ minLength: 1 })) },
    { additionalProperties: false },
  ),
  shorthand: (prompt) => ({ prompt }),
  prompts: (p) => (p.prompt ? [{ at: 'prompt', name: p.prompt }] : []),
  waits: false,
  continues: false,
  async run(p, ctx) {
    if (p.prompt) await playPrompt(ctx, p.prompt, false);
    return { end: 'hangup' };
  },
});
