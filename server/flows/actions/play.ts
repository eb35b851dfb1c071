import { Type } from '@sinclair/typebox';
import { GREETING_KINDS } from '../../domain/mailbox.ts';
import { defineAction, NEXT } from '../action.ts';
import { playPrompt, sayText, wavSamples } from '../audio.ts';
import { interpolate } from '../vars.ts';

/** Plays a prompt, or a mailbox's greeting (its active one unless `kind` says which). */
export const play = defineAction({
  schema: Type.Object(
    {
      prompt: Type.Optional(Type.String({ minLength: 1 })),
      greeting: Type.Optional(Type.String({ minLength: 1 })),
      kind: Type.Optional(Type.Union(GREETING_KINDS.map((k) => Type.Literal(k)))),
      interruptible: Type.Boolean({ default: true }),
    },
    { additionalProperties: false },
  ),
  shorthand: (prompt) => ({ prompt }),
  check: (p) =>
    (p.prompt === undefined) === (p.greeting === undefined)
      ? ['needs exactly one of prompt or greeting']
      : [],
  prompts: (p) => (p.prompt ? [{ at: 'prompt', name: p.prompt }] : []),
  mailboxes: (p) => (p.greeting ? [{ at: 'greeting', name: p.greeting }] : []),
  waits: false,
  continues: true,
  async run(p, ctx) {
    if (p.prompt) {
      return (await playPrompt(ctx, p.prompt, p.interruptible)) === 'hangup'
        ? { end: 'hangup' }
        : NEXT;
    }
    const ref = interpolate(p.greeting!, ctx.vars);
    const audio = await ctx.deps.messages.greetingAudio(ref, p.kind);
    const samples = audio ? wavSamples(audio) : null;
    let result;
    if (samples) {
      result = await ctx.call.play(samples, { interruptible: p.interruptible });
    } else {
      // No greeting recorded (or not in telephone format): say whose mailbox this is.
      const mailbox = await ctx.deps.mailboxes.resolve(ref);
      result = await sayText(
        ctx,
        mailbox.fullName || mailbox.extension || mailbox.name,
        p.interruptible,
      );
    }
    return result === 'hangup' ? { end: 'hangup' } : NEXT;
  },
});
