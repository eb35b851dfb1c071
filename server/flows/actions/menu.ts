import { Type } from '@sinclair/typebox';
import { defineAction, type Ref } from '../action.ts';
import { playCue, playPrompt } from '../audio.ts';

const KEY = /^[0-9*#]$/;

/**
 * Plays a prompt and branches on the key pressed. A wrong key or no key within `timeoutMs`
 * replays it, up to `retries` more times; after that the run goes to `invalid` or `timeout`
 * (whichever happened last), or says goodbye and hangs up when that branch is not given.
 */
export const menu = defineAction({
  schema: Type.Object(
    {
      prompt: Type.Optional(Type.String({ minLength: 1 })),
      say: Type.Optional(Type.String({ minLength: 1 })),
      keys: Type.Record(Type.String(), Type.String({ minLength: 1 })),
      timeoutMs: Type.Integer({ default: 5000, minimum: 500, maximum: 60_000 }),
      retries: Type.Integer({ default: 2, minimum: 0, maximum: 10 }),
      invalid: Type.Optional(Type.String({ minLength: 1 })),
      timeout: Type.Optional(Type.String({ minLength: 1 })),
    },
    { additionalProperties: false },
  ),
  check: (p) => [
    ...(p.prompt === undefined && p.say === undefined ? ['needs a prompt or say'] : []),
    ...(Object.keys(p.keys).length === 0 ? ['keys: needs at least one key'] : []),
    ...Object.keys(p.keys)
      .filter((k) => !KEY.test(k))
      .map((k) => `keys.${k}: a key is one of 0-9, * or # (quote * and # in YAML)`),
  ],
  targets: (p) => {
    const refs: Ref[] = Object.entries(p.keys).map(([k, step]) => ({
      at: `keys.${k}`,
      name: step,
    }));
    if (p.invalid) refs.push({ at: 'invalid', name: p.invalid });
    if (p.timeout) refs.push({ at: 'timeout', name: p.timeout });
    return refs;
  },
  prompts: (p) => (p.prompt ? [{ at: 'prompt', name: p.prompt }] : []),
  waits: true,
  continues: false,
  async run(p, ctx) {
    let last: 'invalid' | 'timeout' = 'timeout';
    const name = ctx.step.id ?? ctx.step.path;
    for (let attempt = 0; attempt <= p.retries; attempt++) {
      // From here keys answer this menu (typed over its prompt, they cut it short).
      ctx.log.debug({ callId: ctx.call.info.callId, menu: name }, 'collecting keys');
      if ((await playCue(ctx, p)) === 'hangup') return { end: 'hangup' };
      const key = await ctx.call.nextKey(p.timeoutMs);
      const target = key === null ? undefined : p.keys[key];
      if (target) return { goto: target };
      last = key === null ? 'timeout' : 'invalid';
      ctx.log.debug({ key, attempt }, key === null ? 'menu: no key' : 'menu: wrong key');
      if (attempt === p.retries) break;
      ctx.call.clearKeys();
      const sorry = key === null ? 'no-entry' : 'invalid-entry';
      if ((await playPrompt(ctx, sorry, false)) === 'hangup') return { end: 'hangup' };
      if ((await playPrompt(ctx, 'please-try-again', false)) === 'hangup') return { end: 'hangup' };
    }
    const branch = last === 'invalid' ? p.invalid : p.timeout;
    if (branch) return { goto: branch };
    await playPrompt(ctx, 'goodbye', false);
    return { end: 'hangup' };
  },
});
