import { Value } from '@sinclair/typebox/value';
import YAML from 'yaml';
import { DialPlan } from '../domain/dial-plan.ts';
import { ACTIONS } from './actions/registry.ts';
import { BUILTIN_FLOWS } from './builtin.ts';
import type { Flow, FlowBook, Step } from './flow.ts';
import { hasVariables } from './vars.ts';

/** What validation checks names against; each check runs only when its list is given. */
export interface ValidationContext {
  /** Prompt names flows may play (server/prompts/text). */
  promptNames?: ReadonlySet<string>;
  /** The store's mailboxes: named mailboxes must exist; numbers must not answer twice. */
  mailboxes?: readonly { name: string; extension: string | null }[];
  /** sip.accessNumbers: a flow number there would never be reached. */
  accessNumbers?: readonly string[];
  /**
   * sip.dialPlan: a number a step calls (`transfer.to`) must be a mailbox's extension or match
   * it (checked with `mailboxes`; `${variable}` targets are checked at call time).
   */
  dialPlan?: readonly string[];
}

export interface ValidationResult {
  book: FlowBook | null;
  errors: string[];
}

const NAME = /^[A-Za-z0-9_-]+$/;
const NUMBER = /^\+?[0-9*#]+$/;
const FLOW_KEYS = new Set(['description', 'numbers', 'mailboxes', 'language', 'steps']);

const isMap = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** `/keys/1` -> `.keys.1`. */
const pointer = (p: string): string => p.replace(/\//g, '.').replace(/\.$/, '');

function stringList(value: unknown, at: string, errors: string[], pattern?: RegExp): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) {
    errors.push(`${at}: expected a list`);
    return [];
  }
  const out: string[] = [];
  value.forEach((v, i) => {
    const text = typeof v === 'number' ? String(v) : v;
    if (typeof text !== 'string' || text === '' || (pattern && !pattern.test(text)))
      errors.push(
        `${at}[${i}]: ${JSON.stringify(v)} is not valid${pattern ? ' (digits, * or #, optional leading +)' : ''}`,
      );
    else out.push(text);
  });
  return out;
}

function parseStep(raw: unknown, at: string, errors: string[]): Step | null {
  if (!isMap(raw)) {
    errors.push(`${at}: a step is a mapping such as { play: welcome }`);
    return null;
  }
  const { id, next, ...rest } = raw;
  if (id !== undefined && (typeof id !== 'string' || !NAME.test(id))) {
    errors.push(`${at}.id: ${JSON.stringify(id)} is not a step name (letters, digits, - and _)`);
  }
  if (next !== undefined && typeof next !== 'string')
    errors.push(`${at}.next: expected a step name`);
  const keys = Object.keys(rest);
  if (keys.length !== 1) {
    errors.push(
      keys.length === 0
        ? `${at}: no action (one of ${[...ACTIONS.keys()].join(', ')})`
        : `${at}: one action per step, found ${keys.join(', ')}`,
    );
    return null;
  }
  const action = keys[0]!;
  const def = ACTIONS.get(action);
  if (!def) {
    errors.push(`${at}: unknown action "${action}" (one of ${[...ACTIONS.keys()].join(', ')})`);
    return null;
  }
  let value = rest[action];
  if (value === null || value === true) value = {};
  else if ((typeof value === 'string' || typeof value === 'number') && def.shorthand)
    value = def.shorthand(String(value));
  if (!isMap(value)) {
    errors.push(`${at}.${action}: expected a mapping of options`);
    return null;
  }
  // Numbers written bare in YAML (keys: { 1: sales }, to: 200) are meant as text.
  const params = Value.Convert(def.schema, Value.Default(def.schema, structuredClone(value)));
  const problems = [...Value.Errors(def.schema, params)];
  for (const e of problems.slice(0, 3)) {
    const where = `${at}.${action}${pointer(e.path)}`;
    errors.push(
      e.message.startsWith('Unexpected property')
        ? `${where}: unknown option`
        : `${where}: ${e.message.toLowerCase()}`,
    );
  }
  if (problems.length > 0) return null;
  // check() messages start with the key they are about (`keys.x: ...`) or are about the action.
  for (const msg of def.check?.(params) ?? [])
    errors.push(`${at}.${action}${/^[A-Za-z][\w.[\]*#]*: /.test(msg) ? '.' : ': '}${msg}`);
  return {
    id: typeof id === 'string' ? id : null,
    action,
    params,
    next: typeof next === 'string' ? next : null,
    path: at,
  };
}

/** Targets exist; every step is reached; no loop runs without waiting for the caller. */
function checkGraph(flow: Flow, errors: string[], ctx: ValidationContext): void {
  const index = new Map<string, number>();
  flow.steps.forEach((s, i) => {
    if (s.id === null) return;
    if (index.has(s.id)) errors.push(`${s.path}.id: step "${s.id}" is defined twice`);
    else index.set(s.id, i);
  });
  const edges: number[][] = flow.steps.map(() => []);
  let missingTargets = false;
  flow.steps.forEach((s, i) => {
    const def = ACTIONS.get(s.action)!;
    const jump = (at: string, name: string) => {
      const to = index.get(name);
      if (to === undefined) {
        errors.push(`${at}: no step "${name}"`);
        missingTargets = true;
      } else edges[i]!.push(to);
    };
    for (const ref of def.targets?.(s.params) ?? [])
      jump(`${s.path}.${s.action}${ref.at ? '.' + ref.at : ''}`, ref.name);
    const continues = typeof def.continues === 'function' ? def.continues(s.params) : def.continues;
    if (continues) {
      if (s.next !== null) jump(`${s.path}.next`, s.next);
      else if (i + 1 < flow.steps.length) edges[i]!.push(i + 1);
    } else if (s.next !== null) {
      errors.push(`${s.path}.next: a ${s.action} step never goes on to a next step`);
    }
    for (const ref of def.prompts?.(s.params) ?? []) {
      if (ctx.promptNames && !hasVariables(ref.name) && !ctx.promptNames.has(ref.name))
        errors.push(`${s.path}.${s.action}.${ref.at}: unknown prompt "${ref.name}"`);
    }
    for (const ref of def.mailboxes?.(s.params) ?? []) {
      if (hasVariables(ref.name)) {
        if (ref.name === '${mailbox}' && flow.mailboxes.length === 0 && !flow.builtin)
          errors.push(
            `${s.path}.${s.action}.${ref.at}: \${mailbox} is only known in a flow with mailboxes`,
          );
        continue;
      }
      if (
        ctx.mailboxes &&
        !ctx.mailboxes.some((m) => m.name === ref.name || m.extension === ref.name)
      )
        errors.push(`${s.path}.${s.action}.${ref.at}: no mailbox "${ref.name}"`);
    }
    for (const ref of def.dials?.(s.params) ?? []) {
      if (!ctx.dialPlan || !ctx.mailboxes || hasVariables(ref.name)) continue;
      const plan = new DialPlan(ctx.dialPlan);
      if (
        !plan.decide(
          ref.name,
          ctx.mailboxes.map((m) => m.extension),
        ).allowed
      )
        errors.push(
          `${s.path}.${s.action}.${ref.at}: ${ref.name} is neither a mailbox's extension nor in the dial plan (sip.dialPlan)`,
        );
    }
  });
  // With a target missing, "never reached" would only repeat that error.
  if (flow.steps.length === 0 || missingTargets) return;
  const seen = new Set<number>([0]);
  const todo = [0];
  while (todo.length > 0) {
    for (const to of edges[todo.pop()!]!) {
      if (seen.has(to)) continue;
      seen.add(to);
      todo.push(to);
    }
  }
  flow.steps.forEach((s, i) => {
    if (!seen.has(i)) errors.push(`${s.path}: never reached (no step leads to it)`);
  });
  // A cycle among steps that never wait for the caller would spin until the step limit.
  const waits = flow.steps.map((s) => ACTIONS.get(s.action)!.waits);
  const state = flow.steps.map(() => 0); // 0 new, 1 on the path, 2 done
  const visit = (i: number): boolean => {
    state[i] = 1;
    for (const to of edges[i]!) {
      if (waits[to]) continue;
      if (state[to] === 1) {
        const s = flow.steps[i]!;
        errors.push(
          `${s.path}: loops back to step "${flow.steps[to]!.id}" without waiting for the caller`,
        );
        return true;
      }
      if (state[to] === 0 && visit(to)) return true;
    }
    state[i] = 2;
    return false;
  };
  for (let i = 0; i < flow.steps.length; i++) if (!waits[i] && state[i] === 0 && visit(i)) break;
}

function parseFlow(name: string, raw: unknown, errors: string[], builtin: boolean): Flow | null {
  const at = `flows.${name}`;
  if (!NAME.test(name)) errors.push(`${at}: a flow name is letters, digits, - and _`);
  if (!builtin && name.startsWith('builtin-'))
    errors.push(`${at}: names starting with builtin- are reserved`);
  if (!isMap(raw)) {
    errors.push(`${at}: expected a mapping with steps`);
    return null;
  }
  for (const key of Object.keys(raw))
    if (!FLOW_KEYS.has(key))
      errors.push(`${at}.${key}: unknown key (${[...FLOW_KEYS].join(', ')})`);
  if (!Array.isArray(raw.steps) || raw.steps.length === 0) {
    errors.push(`${at}.steps: a flow needs a list of steps`);
    return null;
  }
  const language = raw.language;
  if (
    language !== undefined &&
    (typeof language !== 'string' || !/^[a-z]{2,3}(-[A-Z]{2})?$/.test(language))
  )
    errors.push(`${at}.language: expected a language such as fr or fr-CA`);
  const steps = raw.steps.map((s, i) => parseStep(s, `${at}.steps[${i}]`, errors));
  return {
    name,
    description: typeof raw.description === 'string' ? raw.description : '',
    numbers: stringList(raw.numbers, `${at}.numbers`, errors, NUMBER),
    mailboxes: stringList(raw.mailboxes, `${at}.mailboxes`, errors),
    language: typeof language === 'string' ? language : null,
    steps: steps.filter((s): s is Step => s !== null),
    builtin,
  };
}

/** Start numbers are unique, and answer only where nothing else would. */
function checkNumbers(flows: Flow[], errors: string[], ctx: ValidationContext): Map<string, Flow> {
  const byNumber = new Map<string, Flow>();
  for (const flow of flows) {
    flow.numbers.forEach((n, i) => {
      const at = `flows.${flow.name}.numbers[${i}]`;
      const other = byNumber.get(n);
      if (other) errors.push(`${at}: ${n} already starts flow "${other.name}"`);
      else byNumber.set(n, flow);
      if (ctx.accessNumbers?.includes(n))
        errors.push(`${at}: ${n} is an access number (sip.accessNumbers)`);
      // The mailbox's own number answers too, unless this flow is the one that mailbox uses.
      const owner = ctx.mailboxes?.find((m) => m.extension === n || m.name === n);
      if (owner && !flow.mailboxes.includes(owner.name) && !flow.mailboxes.includes(n))
        errors.push(
          `${at}: ${n} is mailbox "${owner.name}"'s number; list it in this flow's mailboxes or pick another number`,
        );
    });
  }
  return byNumber;
}

/** Validates a parsed flows document; the built-in flows are always part of the book. */
export function validateFlows(
  doc: unknown,
  ctx: ValidationContext = {},
  source: string | null = null,
): ValidationResult {
  const errors: string[] = [];
  const flows: Flow[] = [...BUILTIN_FLOWS.values()];
  if (doc !== null && doc !== undefined) {
    if (!isMap(doc)) return { book: null, errors: ['(top level): expected a mapping with flows:'] };
    for (const key of Object.keys(doc))
      if (key !== 'flows') errors.push(`${key}: unknown key (only flows:)`);
    if (doc.flows !== undefined && doc.flows !== null && !isMap(doc.flows))
      errors.push('flows: expected a mapping of flow names to flows');
    else {
      for (const [name, raw] of Object.entries(doc.flows ?? {})) {
        const flow = parseFlow(name, raw, errors, false);
        if (!flow) continue;
        checkGraph(flow, errors, ctx);
        flows.push(flow);
      }
    }
  }
  const mailboxOwners = new Map<string, string>();
  for (const flow of flows) {
    flow.mailboxes.forEach((ref, i) => {
      const at = `flows.${flow.name}.mailboxes[${i}]`;
      const other = mailboxOwners.get(ref);
      if (other) errors.push(`${at}: "${ref}" already uses flow "${other}"`);
      mailboxOwners.set(ref, flow.name);
      if (ctx.mailboxes && !ctx.mailboxes.some((m) => m.name === ref || m.extension === ref))
        errors.push(`${at}: no mailbox "${ref}"`);
    });
  }
  const byNumber = checkNumbers(flows, errors, ctx);
  if (errors.length > 0) return { book: null, errors };
  return { book: { flows: new Map(flows.map((f) => [f.name, f])), byNumber, source }, errors };
}

/** Parses and validates the text of a flows file. */
export function parseFlows(
  text: string,
  ctx: ValidationContext = {},
  source: string | null = null,
): ValidationResult {
  let doc: unknown;
  try {
    doc = YAML.parse(text);
  } catch (err) {
    return { book: null, errors: [`YAML: ${(err as Error).message.split('\n')[0]}`] };
  }
  return validateFlows(doc, ctx, source);
}
