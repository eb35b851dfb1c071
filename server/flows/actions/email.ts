import { Type } from '@sinclair/typebox';
import { isVoicegateError } from '../../domain/errors.ts';
import { encodeWav, fromPcm16 } from '../../media/wav.ts';
import { defineAction, mailboxRef, NEXT } from '../action.ts';
import { interpolate } from '../vars.ts';

/**
 * Mails a recorded answer (the last one, or `recording: name`) through the delivery queue, as
 * voicemail for `mailbox` (default: the mailbox the call is for) to `to` (default: that
 * mailbox's address).
 * Runs even after the caller hung up.
 */
export const email = defineAction({
  schema: Type.Object(
    {
      to: Type.Optional(Type.String({ minLength: 3 })),
      mailbox: Type.String({ minLength: 1, default: '${mailbox}' }),
      recording: Type.Optional(Type.String({ pattern: '^[A-Za-z][A-Za-z0-9_]*$' })),
    },
    { additionalProperties: false },
  ),
  shorthand: (to) => ({ to }),
  mailboxes: (p) => [{ at: 'mailbox', name: p.mailbox }],
  waits: false,
  offline: true,
  continues: true,
  async run(p, ctx) {
    const samples = p.recording ? ctx.recordings.get(p.recording) : ctx.lastRecording;
    if (!samples) {
      ctx.log.info({ recording: p.recording ?? null }, 'e-mail skipped: nothing was recorded');
      return NEXT;
    }
    const wav = encodeWav({
      encoding: 'pcm16',
      sampleRate: 8000,
      channels: 1,
      data: fromPcm16(samples, 'pcm16'),
    });
    const ref = interpolate(p.mailbox, ctx.vars);
    try {
      const { recipient } = await ctx.deps.messages.emailRecording(
        mailboxRef(ctx, ref),
        p.to ? interpolate(p.to, ctx.vars) : null,
        wav,
        { callerNumber: ctx.call.info.callerNumber, callerName: ctx.call.info.callerName },
      );
      ctx.log.info({ mailbox: ref, recipient }, 'recording e-mailed');
    } catch (err) {
      if (!isVoicegateError(err)) throw err;
      ctx.log.warn({ mailbox: ref, err: err.message }, 'recording not e-mailed');
    }
    return NEXT;
  },
});
