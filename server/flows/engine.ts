import type { MailboxRecord } from '../domain/mailbox.ts';
import { HangUp, type Call } from './call.ts';
import type { FlowLog } from './flow-deps.ts';
import type { Flow } from './flow.ts';
import { ACTIONS } from './actions/registry.ts';
import { collectMessages, leaveMessage } from './voicemail/index.ts';
import type { FlowEngineDeps, RunContext, StepOutcome, Vars } from './action.ts';

export const DEFAULT_MAX_STEPS = 200;

export interface RunResult {
  outcome: 'hangup' | 'transferred' | 'done' | 'step-limit' | 'error';
  /** Steps run. */
  steps: number;
}

function childLog(log: FlowLog, bound: object): FlowLog {
  return {
    info: (o, m) => log.info({ ...bound, ...o }, m),
    warn: (o, m) => log.warn({ ...bound, ...o }, m),
    error: (o, m) => log.error({ ...bound, ...o }, m),
    debug: (o, m) => log.debug({ ...bound, ...o }, m),
  };
}

/**
 * Runs a validated flow on a call until it ends, hangs up, transfers or reaches the step
 * limit. Never throws: an error is logged with the call id and the call is ended. After the
 * caller hangs up only steps that need no call (e-mail, time conditions) still run. `mailbox`
 * is the one routing resolved (`vars.mailbox` names it): the run carries it instead of looking
 * it up again.
 */
export async function runFlow(
  call: Call,
  flow: Flow,
  deps: FlowEngineDeps,
  vars: Vars = {},
  mailbox: MailboxRecord | null = null,
): Promise<RunResult> {
  const log = childLog(deps.log, { cid: call.info.callId, flow: flow.name });
  const ctx: RunContext = {
    call,
    deps,
    flow,
    vars: {
      callerNumber: call.info.callerNumber ?? '',
      callerName: call.info.callerName ?? '',
      dialled: call.info.dialled,
      ...vars,
    },
    step: flow.steps[0]!,
    mailbox: mailbox && vars.mailbox === mailbox.name ? mailbox : null,
    language: vars.language || flow.language || deps.defaultLanguage,
    voicemail: deps.voicemail ?? { leaveMessage, collectMessages },
    recordings: new Map(),
    lastRecording: null,
    log,
  };
  const index = new Map<string, number>();
  flow.steps.forEach((s, i) => s.id !== null && index.set(s.id, i));
  const max = deps.maxSteps ?? DEFAULT_MAX_STEPS;
  let at = 0;
  let steps = 0;
  let outcome: RunResult['outcome'] = 'done';
  while (at < flow.steps.length) {
    const step = flow.steps[at]!;
    const def = ACTIONS.get(step.action)!;
    if (call.ended && !def.offline) {
      outcome = 'hangup';
      break;
    }
    if (steps >= max) {
      log.warn({ step: step.path, steps }, 'step limit reached: ending the call');
      outcome = 'step-limit';
      break;
    }
    steps++;
    ctx.step = step;
    log.debug({ step: step.path, action: step.action }, 'step');
    let result: StepOutcome;
    try {
      result = await def.run(step.params, ctx);
    } catch (err) {
      if (err instanceof HangUp || call.ended) {
        outcome = 'hangup';
      } else {
        log.error({ step: step.path, err }, 'call flow step failed');
        outcome = 'error';
      }
      break;
    }
    if ('end' in result) {
      outcome = result.end;
      break;
    }
    if ('goto' in result) at = index.get(result.goto)!;
    else at = step.next !== null ? index.get(step.next)! : at + 1;
  }
  if (outcome === 'done' && call.ended) outcome = 'hangup';
  if (!call.ended) {
    await call.hangup().catch((err: unknown) => log.warn({ err }, 'hang-up failed'));
  }
  log.info({ outcome, steps }, 'call flow ended');
  return { outcome, steps };
}
