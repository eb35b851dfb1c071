import type { Flow } from './flow.ts';

/**
 * The flows every server has, written with the same actions as configured ones. Routing puts
 * the mailbox in `${mailbox}` (empty at an access number, where the caller types it).
 */
export const BUILTIN_FLOWS: ReadonlyMap<string, Flow> = new Map(
  [
    {
      name: 'builtin-leave-message',
      description: 'leave a message for the mailbox called (or forwarded from)',
      steps: [{ action: 'leave-message', params: { mailbox: '${mailbox}' } }],
    },
    {
      name: 'builtin-collect-messages',
      description: 'hear and manage messages, after mailbox and code (no code from the own phone)',
      steps: [{ action: 'collect-messages', params: { mailbox: '${mailbox}' } }],
    },
  ].map((f): [string, Flow] => [
    f.name,
    {
      ...f,
      numbers: [],
      mailboxes: [],
      language: null,
      builtin: true,
      steps: f.steps.map((s, i) => ({
        ...s,
        id: null,
        next: null,
        path: `flows.${f.name}.steps[${i}]`,
      })),
    },
  ]),
);

export const LEAVE_MESSAGE = 'builtin-leave-message';
export const COLLECT_MESSAGES = 'builtin-collect-messages';
