import { Type } from '@sinclair/typebox';
import { callerGreetings, callReason } from '../../domain/greeting.ts';
import { GREETING_KINDS, type GreetingKind } from '../../domain/mailbox.ts';
import { defineAction, mailboxRef, NEXT } from '../action.ts';
import { playPrompt, sayText, wavSamples } from '../audio.ts';
import { interpolate } from '../vars.ts';

/**
 * Plays a prompt, or a mailbox's greeting: `kind`, else the recorded one a caller would hear
 * (the domain's `callerGreetings`: busy on a busy-forwarded call, else the active one).
 */
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
    const mailbox = await ctx.deps.mailboxes.resolve(
      mailboxRef(ctx, interpolate(p.greeting!, ctx.vars)),
    );
    let kinds: GreetingKind[] = p.kind ? [p.kind] : [];
    if (!p.kind) {
      const recorded = (await ctx.deps.messages.greetings(mailbox)).map((g) => g.kind);
      kinds = callerGreetings(mailbox, recorded, callReason(ctx.call.info.forwardReason)).flatMap(
        (c) => (c.say === 'greeting' ? [c.kind] : []),
      );
    }
    let samples: Int16Array | null = null;
    for (const kind of kinds) {
      const audio = await ctx.deps.messages.greetingAudio(mailbox, kind);
      samples = audio ? wavSamples(audio) : null;
      if (samples) break;
    }
    let result;
    if (samples) {
      result = await ctx.call.play(samples, { interruptible: p.interruptible });
    } else {
      // No greeting recorded (or not in telephone format): say whose mailbox this is.
      result = await sayText(
        ctx,
        mailbox.fullName || mailbox.extension || mailbox.name,
        p.interruptible,
      );
    }
    return result === 'hangup' ? { end: 'hangup' } : NEXT;
  },
});
