import { Type } from '@sinclair/typebox';
import { defineAction, NEXT, type Ref } from '../action.ts';

const DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;
const HHMM = '^([01][0-9]|2[0-3]):[0-5][0-9]$|^24:00$';

/** `mon-fri`, `sat,sun`, `[mon, wed]` -> day numbers (0 = Sunday); null when it is not days. */
export function parseDays(spec: string | string[]): Set<number> | null {
  const parts = (Array.isArray(spec) ? spec : spec.split(',')).map((s) => s.trim().toLowerCase());
  const out = new Set<number>();
  for (const part of parts) {
    const [from, to] = part.split('-') as [string, string | undefined];
    const a = DAYS.indexOf(from as (typeof DAYS)[number]);
    const b = to === undefined ? a : DAYS.indexOf(to as (typeof DAYS)[number]);
    if (a < 0 || b < 0) return null;
    for (let d = a; ; d = (d + 1) % 7) {
      out.add(d);
      if (d === b) break;
    }
  }
  return out;
}

const minutes = (hhmm: string): number => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3));

/** Weekday (0 = Sunday) and minute of the day at `at` in `timeZone`. */
export function localTime(at: number, timeZone: string): { day: number; minute: number } {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone,
    weekday: 'short',
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  }).formatToParts(at);
  const get = (t: string) => parts.find((p) => p.type === t)!.value;
  return {
    day: DAYS.indexOf(get('weekday').toLowerCase() as (typeof DAYS)[number]),
    minute: Number(get('hour')) * 60 + Number(get('minute')),
  };
}

const Rule = Type.Object(
  {
    days: Type.Optional(Type.Union([Type.String(), Type.Array(Type.String())])),
    from: Type.String({ pattern: HHMM, default: '00:00' }),
    to: Type.String({ pattern: HHMM, default: '24:00' }),
    goto: Type.String({ minLength: 1 }),
  },
  { additionalProperties: false },
);

/**
 * Branches on the day and time in a time zone: the first rule that matches wins, else `else`
 * (or the next step). A rule from 22:00 to 06:00 spans midnight (its days are when it starts).
 */
export const timeCondition = defineAction({
  schema: Type.Object(
    {
      timeZone: Type.Optional(Type.String({ minLength: 1 })),
      rules: Type.Array(Rule, { minItems: 1 }),
      else: Type.Optional(Type.String({ minLength: 1 })),
    },
    { additionalProperties: false },
  ),
  check: (p) => {
    const errors: string[] = [];
    if (p.timeZone) {
      try {
        new Intl.DateTimeFormat('en-US', { timeZone: p.timeZone });
      } catch {
        errors.push(`timeZone: "${p.timeZone}" is not a known time zone (e.g. Europe/Paris)`);
      }
    }
    p.rules.forEach((r, i) => {
      if (r.days !== undefined && !parseDays(r.days))
        errors.push(`rules[${i}].days: expected days such as mon-fri or [sat, sun]`);
      if (r.from === r.to) errors.push(`rules[${i}]: from and to are the same time`);
    });
    return errors;
  },
  targets: (p) => {
    const refs: Ref[] = p.rules.map((r, i) => ({ at: `rules[${i}].goto`, name: r.goto }));
    if (p.else) refs.push({ at: 'else', name: p.else });
    return refs;
  },
  waits: false,
  offline: true,
  continues: (p) => p.else === undefined,
  async run(p, ctx) {
    const zone = p.timeZone ?? ctx.deps.timeZone;
    const now = localTime(ctx.deps.now(), zone);
    for (const rule of p.rules) {
      const days = rule.days === undefined ? null : parseDays(rule.days)!;
      const from = minutes(rule.from);
      const to = minutes(rule.to);
      const inRange =
        from < to
          ? (days === null || days.has(now.day)) && now.minute >= from && now.minute < to
          : // Spans midnight: the evening part on its days, the morning part the day after.
            ((days === null || days.has(now.day)) && now.minute >= from) ||
            ((days === null || days.has((now.day + 6) % 7)) && now.minute < to);
      if (inRange) return { goto: rule.goto };
    }
    return p.else ? { goto: p.else } : NEXT;
  },
});
