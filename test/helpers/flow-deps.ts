import type { FlowEngineDeps, VoicemailFlows } from '../../server/flows/action.ts';
import type { PromptSource, Speech } from '../../server/flows/flow-deps.ts';
import type { Context } from '../../server/context.ts';
import { VoicegateError } from '../../server/domain/errors.ts';
import type { ScriptedCall } from './scripted-call.ts';

export interface LogLine {
  level: 'info' | 'warn' | 'error' | 'debug';
  obj: Record<string, unknown>;
  msg: string;
}

/**
 * Flow dependencies over a real store: prompts and speech return a distinct array per name
 * (so a test can say what was played), the voicemail flows are recorded fakes.
 */
export function flowDeps(ctx: Context, over: Partial<FlowEngineDeps> = {}) {
  const tags = new Map<Int16Array, string>();
  const cache = new Map<string, Int16Array>();
  const tagged = (name: string): Int16Array => {
    let a = cache.get(name);
    if (!a) {
      a = new Int16Array(80);
      cache.set(name, a);
      tags.set(a, name);
    }
    return a;
  };
  const prompts: PromptSource = {
    get: (name) => {
      if (name === 'missing-prompt') throw new VoicegateError('NOT_FOUND', 'no prompt');
      return tagged(name);
    },
    has: (name) => name !== 'missing-prompt',
  };
  const speech: Speech = { say: async (text) => tagged(`say:${text}`) };
  const logs: LogLine[] = [];
  const at =
    (level: LogLine['level']) =>
    (obj: object, msg: string): void => {
      logs.push({ level, obj: obj as Record<string, unknown>, msg });
    };
  const voicemailCalls: { fn: string; mailbox?: string; opts: unknown }[] = [];
  const voicemail: VoicemailFlows = {
    leaveMessage: async (_call, _deps, mailbox, opts) => {
      voicemailCalls.push({
        fn: 'leaveMessage',
        mailbox: typeof mailbox === 'string' ? mailbox : mailbox.name,
        opts,
      });
    },
    collectMessages: async (_call, _deps, opts) => {
      voicemailCalls.push({ fn: 'collectMessages', opts });
    },
  };
  const deps: FlowEngineDeps = {
    mailboxes: ctx.mailboxes,
    messages: ctx.messages,
    policy: ctx.loaded.config.policy,
    prompts,
    speech,
    log: { info: at('info'), warn: at('warn'), error: at('error'), debug: at('debug') },
    defaultLanguage: 'en',
    now: () => Date.now(),
    voicemail,
    timeZone: 'UTC',
    ...over,
  };
  /** What a call heard, by prompt name (`say:text` for speech, `?` for other audio). */
  const heard = (call: ScriptedCall): string[] => call.played.map((p) => tags.get(p) ?? '?');
  return { deps, logs, voicemailCalls, heard };
}
