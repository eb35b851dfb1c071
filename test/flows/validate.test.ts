import { describe, expect, it } from 'vitest';
import { parseFlows, type ValidationContext } from '../../server/flows/validate.ts';
import { promptNames } from '../../server/prompts/texts.ts';

const ctx: ValidationContext = {
  promptNames: promptNames(),
  mailboxes: [
    { name: 'sales', extension: '300' },
    { name: 'alice', extension: '201' },
  ],
  accessNumbers: ['800'],
};

function errors(yaml: string): string[] {
  return parseFlows(yaml, ctx).errors;
}

const one = (steps: string, extra = '') => `
flows:
  sales:
${extra}    steps:
${steps}`;

describe('flows validation names the path of each error', () => {
  it('accepts a good file, with the built-in flows alongside', () => {
    const { book, errors: e } = parseFlows(
      one(
        `      - id: menu
        menu: { prompt: goodbye, keys: { 1: a, '#': menu } }
      - id: a
        leave-message: sales
`,
        "    numbers: ['5000']\n    mailboxes: [sales]\n",
      ),
      ctx,
    );
    expect(e).toEqual([]);
    expect([...book!.flows.keys()]).toEqual([
      'builtin-leave-message',
      'builtin-collect-messages',
      'sales',
    ]);
    expect(book!.byNumber.get('5000')?.name).toBe('sales');
  });

  it.each([
    ['an unknown action', '      - dance: now\n', 'flows.sales.steps[0]: unknown action "dance"'],
    [
      'two actions in a step',
      '      - { play: goodbye, hangup: null }\n',
      'flows.sales.steps[0]: one action per step, found play, hangup',
    ],
    [
      'a missing target',
      '      - menu: { prompt: goodbye, keys: { 1: x } }\n',
      'flows.sales.steps[0].menu.keys.1: no step "x"',
    ],
    [
      'an unknown prompt',
      '      - play: no-such-prompt\n',
      'flows.sales.steps[0].play.prompt: unknown prompt "no-such-prompt"',
    ],
    [
      'a mailbox that does not exist',
      '      - leave-message: bob\n',
      'flows.sales.steps[0].leave-message.mailbox: no mailbox "bob"',
    ],
    [
      'an unknown option',
      '      - menu: { prompt: goodbye, keys: { 1: x }, colour: red }\n',
      'flows.sales.steps[0].menu.colour: unknown option',
    ],
    [
      'a bad key',
      '      - id: m\n        menu: { prompt: goodbye, keys: { 12: m } }\n',
      'flows.sales.steps[0].menu.keys.12: a key is one of 0-9, * or # (quote * and # in YAML)',
    ],
    [
      'an unreachable step',
      '      - hangup: goodbye\n      - play: goodbye\n',
      'flows.sales.steps[1]: never reached (no step leads to it)',
    ],
    [
      'a goto loop without input',
      '      - id: a\n        play: goodbye\n      - goto: a\n',
      'flows.sales.steps[1]: loops back to step "a" without waiting for the caller',
    ],
    [
      'a bad time zone',
      '      - time-condition: { timeZone: Mars/Base, rules: [{ goto: x }] }\n      - id: x\n        hangup:\n',
      'flows.sales.steps[0].time-condition.timeZone: "Mars/Base" is not a known time zone (e.g. Europe/Paris)',
    ],
    [
      '${mailbox} in a flow serving no mailbox',
      '      - leave-message: ${mailbox}\n',
      'flows.sales.steps[0].leave-message.mailbox: ${mailbox} is only known in a flow with mailboxes',
    ],
  ])('%s', (_what, steps, expected) => {
    expect(errors(one(steps)).join('\n')).toContain(expected);
  });

  it('a loop through a menu is fine: the caller is asked each time', () => {
    expect(
      errors(
        one(
          '      - id: a\n        menu: { prompt: goodbye, keys: { 1: b } }\n      - id: b\n        goto: a\n',
        ),
      ),
    ).toEqual([]);
  });

  it('refuses duplicate start numbers, access numbers and numbers another mailbox answers', () => {
    const e = errors(`
flows:
  a:
    numbers: ['5000', '800', '201']
    steps: [{ hangup: null }]
  b:
    numbers: ['5000', '300']
    mailboxes: [sales]
    steps: [{ hangup: null }]
`);
    expect(e).toEqual([
      'flows.a.numbers[1]: 800 is an access number (sip.accessNumbers)',
      'flows.a.numbers[2]: 201 is mailbox "alice"\'s number; list it in this flow\'s mailboxes or pick another number',
      'flows.b.numbers[0]: 5000 already starts flow "a"',
    ]);
  });

  it('refuses transfers to numbers neither an extension nor in the dial plan (sip.dialPlan)', () => {
    const steps = [
      "      - transfer: '300'\n", // sales's extension: always allowed
      "      - transfer: '95550100'\n", // in the dial plan
      "      - transfer: '0899123456'\n",
      "      - transfer: '${callerNumber}'\n", // checked when the call is made
    ].join('');
    expect(parseFlows(one(steps), { ...ctx, dialPlan: ['9NXXXXXX'] }).errors).toEqual([
      "flows.sales.steps[2].transfer.to: 0899123456 is neither a mailbox's extension nor in the dial plan (sip.dialPlan)",
    ]);
    // By default only the extensions.
    expect(parseFlows(one(steps), { ...ctx, dialPlan: [] }).errors).toHaveLength(2);
  });

  it('reports YAML syntax errors and unknown top-level keys', () => {
    expect(errors('flows: [')[0]).toMatch(/^YAML: /);
    expect(errors('flow: {}')).toEqual(['flow: unknown key (only flows:)']);
    expect(errors('flows:\n  builtin-x:\n    steps: [{ hangup: null }]\n')).toEqual([
      'flows.builtin-x: names starting with builtin- are reserved',
    ]);
  });
});
