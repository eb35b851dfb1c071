import { Type } from '@sinclair/typebox';
import { defineAction, NEXT } from '../action.ts';
import { sayText } from '../audio.ts';

/** Speaks text at run time (espeak-ng), with `${variables}` such as `${callerNumber}`. */
export const speak = defineAction({
  schema: Type.Object(
    {
      text: Type.String({ minLength: 1, maxLength: 1000 }),
      interruptible: Type.Boolean({ default: true }),
    },
    { additionalProperties: false },
  ),
  shorthand: (text) => ({ text }),
  waits: false,
  continues: true,
  async run(p, ctx) {
    return (await sayText(ctx, p.text, p.interruptible)) === 'hangup' ? { end: 'hangup' } : NEXT;
  },
});
