import { Type } from '@sinclair/typebox';
import { defineAction, mailboxRef, NEXT } from '../action.ts';
import { interpolate } from '../vars.ts';

/** Runs the built-in leave-message flow for a mailbox (its greeting, the tone, the recording). */
export const leaveMessage = defineAction({
  schema: Type.Object(
    {
      mailbox: Type.String({ minLength: 1 }),
    },
    { additionalProperties: false },
  ),
  shorthand: (mailbox) => ({ mailbox }),
  mailboxes: (p) => [{ at: 'mailbox', name: p.mailbox }],
  waits: true,
  continues: true,
  async run(p, ctx) {
    const ref = mailboxRef(ctx, interpolate(p.mailbox, ctx.vars));
    await ctx.voicemail.leaveMessage(ctx.call, ctx.deps, ref, { language: ctx.language });
    return NEXT;
  },
});
