import type { FlowDeps } from '../../../server/flows/flow-deps.ts';
import { monotonicFactory } from 'ulid';
import { MailboxService } from '../../../server/domain/mailbox-service.ts';
import { MessageService } from '../../../server/domain/message-service.ts';
import type { DomainDeps } from '../../../server/domain/deps.ts';
import type { VoicemailStore } from '../../../server/domain/ports.ts';
import type { MailboxInput } from '../../../server/domain/mailbox.ts';
import { DEFAULT_POLICY, type Policy } from '../../../server/domain/policy.ts';
import { inspectWav } from '../../../server/media/wav.ts';
import { silenceWav, toneWav } from '../../../server/media/tone.ts';
import { tempContext } from '../../helpers/temp-context.ts';
import { FakePrompts, FakeSpeech } from './fake-call.ts';

export const POLICY: Policy = {
  ...DEFAULT_POLICY,
  minMessageSeconds: 1,
  maxMessageSeconds: 10,
  minCodeLength: 4,
  lockout: { failures: 5, minutes: 15 },
};

const quiet = { info() {}, warn() {}, error() {}, debug() {} };

/**
 * Domain services over a real SQLite store in a temporary folder (cheap code hashes so tests
 * stay quick), and FlowDeps with fake prompts and speech. `wrapStore` puts something (a
 * counter) between the services and the store.
 */
export async function flowKit(
  opts: { wrapStore?: (store: VoicemailStore) => VoicemailStore } = {},
) {
  const ctx = await tempContext();
  const clock = { now: Date.UTC(2026, 2, 2, 14, 5) };
  const domain: DomainDeps = {
    store: opts.wrapStore ? opts.wrapStore(ctx.store) : ctx.store,
    audio: ctx.audio,
    inspectAudio: inspectWav,
    policy: POLICY,
    housekeeping: {
      deleteAfterHours: { new: 0, unopened: 0, old: 0, saved: 0 },
      purgeDeletedAfterHours: 0,
    },
    playbackOrder: 'fifo',
    serverName: 'test-server',
    newVoicemailId: monotonicFactory(),
    defaults: { locale: 'en-US', timeZone: 'UTC' },
    log: quiet,
    now: () => clock.now,
    scryptCost: { N: 1024, r: 8, p: 1 },
  };
  const mailboxes = new MailboxService(domain);
  const messages = new MessageService(domain, mailboxes);
  const prompts = new FakePrompts();
  const speech = new FakeSpeech();
  const deps: FlowDeps = {
    mailboxes,
    messages,
    policy: POLICY,
    prompts,
    speech,
    log: quiet,
    defaultLanguage: 'en',
    now: () => clock.now,
  };
  return {
    ctx,
    clock,
    deps,
    mailboxes,
    messages,
    prompts,
    speech,
    async mailbox(input: Partial<MailboxInput> = {}, code = '1234') {
      return mailboxes.add({ name: '201', extension: '201', fullName: 'Bea', ...input }, code);
    },
    /** A message whose audio plays as `audio:<seconds*1000>`. */
    async deposit(mailbox: string, seconds: number, extra: Record<string, unknown> = {}) {
      const [m] = await messages.deposit({
        mailbox,
        audio: toneWav({ seconds }),
        callerNumber: '5550001',
        ...extra,
      });
      return m!;
    },
    wav: (seconds: number) => silenceWav(seconds),
    cleanup: () => ctx.cleanup(),
  };
}

export type FlowKit = Awaited<ReturnType<typeof flowKit>>;
