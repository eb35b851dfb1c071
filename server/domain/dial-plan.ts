import { VoicegateError } from './errors.ts';

/**
 * The dial plan: where outgoing calls (call back, play on my phone, transfers, breakouts) may
 * go. A target is only ever a dial string (digits, `*`, `#`, a leading `+`) that the server
 * turns into a URI itself; anything else (a SIP URI, a host, letters), wherever it came from,
 * is never dialled. Beyond the installation's own extensions, a number must match one of the
 * administrator's patterns (`sip.dialPlan`).
 */

/** Written numbers may carry visual separators ("+33 1 55-50.00"); nothing else is dropped. */
const SEPARATORS = /[ \t().-]/g;
const DIAL_STRING = /^\+?[0-9*#]{1,32}$/;

/** `raw` as a dial string (separators dropped), or null when it is not one: a URI never is. */
export function dialString(raw: string | null | undefined): string | null {
  if (!raw) return null;
  const s = raw.replace(SEPARATORS, '');
  return DIAL_STRING.test(s) ? s : null;
}

/** Caller data as a log may show it: printable ASCII, short. */
export function shownTarget(raw: string | null | undefined): string {
  return (raw ?? '').replace(/[^\x20-\x7e]/g, '?').slice(0, 80);
}

const CLASSES: Record<string, string> = { X: '[0-9]', N: '[2-9]', Z: '[1-9]' };

/**
 * One pattern as an anchored RegExp: X any digit, N 2-9, Z 1-9, `[1-5]` / `[137]` a set,
 * digits `*` `#` `+` themselves, a trailing `.` one or more further digits. Throws
 * INVALID_INPUT naming the pattern.
 */
export function compilePattern(pattern: string): RegExp {
  const bad = (why: string): VoicegateError =>
    new VoicegateError('INVALID_INPUT', `dial plan pattern "${pattern}": ${why}`);
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    const upper = c.toUpperCase();
    if (/[0-9#]/.test(c)) re += c;
    else if (c === '*' || c === '+') re += `\\${c}`;
    else if (CLASSES[upper]) re += CLASSES[upper];
    else if (c === '.') {
      if (i !== pattern.length - 1) throw bad('"." may only end a pattern');
      if (i === 0) throw bad('"." needs digits before it');
      re += '[0-9]+';
    } else if (c === '[') {
      const end = pattern.indexOf(']', i);
      if (end < 0) throw bad('"[" is never closed');
      const set = pattern.slice(i + 1, end);
      if (!/^([0-9](-[0-9])?)+$/.test(set)) throw bad(`"[${set}]" is not a set of digits`);
      for (const [, from, to] of set.matchAll(/([0-9])-([0-9])/g))
        if (from! > to!) throw bad(`the range ${from}-${to} is backwards`);
      re += `[${set}]`;
      i = end;
    } else throw bad(`"${c}" is not a digit, X, N, Z, [set], * # + or a final "."`);
  }
  if (re === '') throw bad('it is empty');
  return new RegExp(`^${re}$`);
}

export type DialDecision =
  | { allowed: true; number: string; by: 'extension' | 'dial-plan' }
  | { allowed: false; number: string | null; reason: 'not-a-number' | 'not-in-dial-plan' };

/** The administrator's patterns, compiled once (a bad one stops the start-up). */
export class DialPlan {
  readonly patterns: readonly string[];
  readonly #compiled: RegExp[];

  constructor(patterns: readonly string[]) {
    this.patterns = [...patterns];
    this.#compiled = patterns.map(compilePattern);
  }

  /**
   * Whether `raw` may be called: a dial string that is one of `extensions` (the mailboxes'
   * own) or matches a pattern. Never a URI, whatever the patterns say.
   */
  decide(raw: string | null | undefined, extensions: Iterable<string | null>): DialDecision {
    const number = dialString(raw);
    if (number === null) return { allowed: false, number: null, reason: 'not-a-number' };
    for (const ext of extensions)
      if (ext === number) return { allowed: true, number, by: 'extension' };
    if (this.#compiled.some((re) => re.test(number)))
      return { allowed: true, number, by: 'dial-plan' };
    return { allowed: false, number, reason: 'not-in-dial-plan' };
  }
}
