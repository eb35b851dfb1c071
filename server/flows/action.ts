import type { Static, TSchema } from '@sinclair/typebox';
import type { MailboxRecord, MailboxRef } from '../domain/mailbox.ts';
import type { Call } from './call.ts';
import type { FlowDeps, FlowLog } from './flow-deps.ts';
import type { Flow, Step } from './flow.ts';

/** Options the built-in leave-message flow is called with (server/flows/voicemail/). */
export interface LeaveMessageOptions {
  language: string;
}

/** Options the built-in collect-messages flow is called with. */
export interface CollectMessagesOptions {
  language: string;
  /** The mailbox, when routing knows it; absent = ask for it. */
  mailboxRef?: MailboxRef;
  /** The caller is the mailbox's own phone or a trusted number: no code asked. */
  trusted: boolean;
}

/** The two voicemail flows (server/flows/voicemail/); tests hand in fakes. */
export interface VoicemailFlows {
  leaveMessage(
    call: Call,
    deps: FlowDeps,
    mailboxRef: MailboxRef,
    opts: LeaveMessageOptions,
  ): Promise<unknown>;
  collectMessages(call: Call, deps: FlowDeps, opts: CollectMessagesOptions): Promise<unknown>;
}

/** What the engine needs besides FlowDeps. */
export interface FlowEngineDeps extends FlowDeps {
  /** Default: the real ones, leaveMessage and collectMessages of server/flows/voicemail/. */
  voicemail?: VoicemailFlows;
  /** Time zone of time conditions that name none (server.timeZone). */
  timeZone: string;
  /** Steps one call may run before it is ended (a guard against loops through menus). */
  maxSteps?: number;
}

/** Text variables of a run (`${callerNumber}`); recordings are kept apart. */
export type Vars = Record<string, string>;

/** One call's run of a flow, as the actions see it. */
export interface RunContext {
  call: Call;
  deps: FlowEngineDeps;
  flow: Flow;
  vars: Vars;
  /** The step being run (its id names it in logs, e.g. a menu's `collecting keys`). */
  step: Step;
  /**
   * The mailbox routing resolved for this call (`${mailbox}`), kept so that steps naming it do
   * not look it up again; null when the call is for no mailbox (an access number).
   */
  mailbox: MailboxRecord | null;
  language: string;
  voicemail: VoicemailFlows;
  recordings: Map<string, Int16Array>;
  lastRecording: Int16Array | null;
  log: FlowLog;
}

/**
 * A mailbox a step names (after `${}` expansion): the call's own resolved mailbox when the name
 * or extension is its, else the reference for the services to look up.
 */
export function mailboxRef(ctx: Pick<RunContext, 'mailbox'>, ref: string): MailboxRef {
  const m = ctx.mailbox;
  // Names and extensions share one namespace, so either names this mailbox and no other.
  return m && (ref === m.name || (m.extension !== null && ref === m.extension)) ? m : ref;
}

/** What a step leads to: the following step, a named one, or the end of the run. */
export type StepOutcome =
  { next: true } | { goto: string } | { end: 'hangup' | 'transferred' | 'done' };

export const NEXT: StepOutcome = { next: true };

/** A reference a step makes, with the path suffix an error names (`keys.1`). */
export interface Ref {
  at: string;
  name: string;
}

/** One action: its parameters' schema, what it refers to (for validation) and how it runs. */
export interface ActionDef<S extends TSchema = TSchema> {
  schema: S;
  /** What `action: text` means (e.g. `goto: menu`); absent = the action takes no short form. */
  shorthand?: (text: string) => unknown;
  /** Rules the schema cannot say (one of two keys, key names); messages name the key. */
  check?(p: Static<S>): string[];
  /** Steps it may jump to. */
  targets?(p: Static<S>): Ref[];
  /** Prompt names it plays. */
  prompts?(p: Static<S>): Ref[];
  /** Numbers it calls, checked against the dial plan (variables are checked at call time). */
  dials?(p: Static<S>): Ref[];
  /** Mailboxes it names (variables such as `${mailbox}` are checked at run time). */
  mailboxes?(p: Static<S>): Ref[];
  /** Whether it waits for the caller: a loop with none of these would never end. */
  waits: boolean;
  /** Whether it still runs after the caller hung up (it needs no call: e-mail). */
  offline?: boolean;
  /** Whether the run may go on to the next step after it. */
  continues: boolean | ((p: Static<S>) => boolean);
  run(p: Static<S>, ctx: RunContext): Promise<StepOutcome>;
}

/** Keeps each action's own parameter types while the registry holds them all alike. */
export function defineAction<S extends TSchema>(def: ActionDef<S>): ActionDef {
  return def as unknown as ActionDef;
}
