import { Type } from '@sinclair/typebox';
import { defineAction, mailboxRef, NEXT } from '../action.ts';
import { interpolate } from '../vars.ts';

/**
 * Runs the built-in collect-messages flow: asks for the mailbox (unless given) and its code.
 * The code is skipped only when routing found the caller to be that mailbox's own phone or a
 * trusted number: a flow file cannot turn the code off.
 */
export const collectMessages = defineAction({
  schema: Type.Object(
    { mailbox: Type.Optional(Type.String({ minLength: 1 })) },
    { additionalProperties: false },
  ),
  shorthand: (mailbox) => ({ mailbox }),
  mailboxes: (p) => (p.mailbox ? [{ at: 'mailbox', name: p.mailbox }] : []),
  waits: true,
  continues: true,
  async run(p, ctx) {
    const ref = p.mailbox ? interpolate(p.mailbox, ctx.vars) : '';
    const trusted = ctx.vars.trusted === 'yes' && ref !== '' && ref === ctx.vars.mailbox;
    await ctx.voicemail.collectMessages(ctx.call, ctx.deps, {
      language: ctx.language,
      ...(ref === '' ? {} : { mailboxRef: mailboxRef(ctx, ref) }),
      trusted,
    });
    return NEXT;
  },
});
