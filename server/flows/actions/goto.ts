import { Type } from '@sinclair/typebox';
import { defineAction } from '../action.ts';

/** Jumps to another step of the same flow. */
export const goto = defineAction({
  schema: Type.Object({ step: Type.String({ minLength: 1 }) }, { additionalProperties: false }),
  shorthand: (step) => ({ step }),
  targets: (p) => [{ at: '', name: p.step }],
  waits: false,
  continues: false,
  async run(p) {
    return { goto: p.step };
  },
});
