/**
 * The lockout in the domain: attempts counted before the code is checked, per mailbox and per
 * client address; refusals alike in answer and in time; an attempt that cannot be recorded is
 * refused.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { monotonicFactory } from 'ulid';
import { AddressThrottle, clientAddress } from '../../server/domain/address-throttle.ts';
import { DEFAULT_COST } from '../../server/domain/code-hash.ts';
import type { DomainDeps } from '../../server/domain/deps.ts';
import { VoicegateError } from '../../server/domain/errors.ts';
import { MailboxService } from '../../server/domain/mailbox-service.ts';
import type { LoginContext } from '../../server/domain/mailbox-login.ts';
import { DEFAULT_POLICY } from '../../server/domain/policy.ts';
import { inspectWav } from '../../server/media/wav.ts';
import { tempContext } from '../helpers/temp-context.ts';

const CODE = '2468';
const WRONG = '1357';

async function setup(
  opts: { perAddressFailures?: number; scryptCost?: DomainDeps['scryptCost'] } = {},
) {
  const ctx = await tempContext();
  const clock = { now: Date.UTC(2026, 0, 1) };
  const warnings: { msg: string; mailbox?: string }[] = [];
  const deps: DomainDeps = {
    store: ctx.store,
    audio: ctx.audio,
    inspectAudio: inspectWav,
    policy: {
      ...DEFAULT_POLICY,
      lockout: { failures: 5, minutes: 15, perAddressFailures: opts.perAddressFailures ?? 20 },
    },
    housekeeping: {
      deleteAfterHours: { new: 0, unopened: 0, old: 0, saved: 0 },
      purgeDeletedAfterHours: 0,
    },
    playbackOrder: 'fifo',
    serverName: 'test-server',
    newVoicemailId: monotonicFactory(),
    defaults: { locale: 'en-US', timeZone: 'UTC' },
    log: { info() {}, warn: (obj: object, msg: string) => warnings.push({ ...obj, msg }) },
    now: () => clock.now,
    scryptCost: opts.scryptCost ?? { N: 1024, r: 8, p: 1 },
  };
  return { ctx, deps, clock, warnings, mailboxes: new MailboxService(deps) };
}

let t: Awaited<ReturnType<typeof setup>>;
beforeEach(async () => {
  t = await setup();
});
afterEach(async () => {
  await t.ctx.cleanup();
});

const web = (remote: string): LoginContext => ({ channel: 'web', remote });

async function outcome(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'ok';
  } catch (err) {
    return (err as { code?: string }).code ?? String(err);
  }
}

const checked = (mailbox: string): number =>
  t.warnings.filter((w) => w.msg === 'login failed: wrong code' && w.mailbox === mailbox).length;

describe('counting attempts', () => {
  it('150 concurrent attempts check at most 5 codes; the right one among them is refused', async () => {
    await t.mailboxes.add({ name: 'alice' }, CODE);
    const attempts = Array.from({ length: 150 }, (_, i) =>
      // Each from its own address, so only the mailbox's lockout stands in the way.
      outcome(t.mailboxes.authenticate('alice', i === 100 ? CODE : WRONG, web(`10.0.${i}.1`))),
    );
    const results = await Promise.all(attempts);
    expect(results.filter((r) => r === 'ok')).toEqual([]);
    expect(checked('alice')).toBe(5);
    // Locked for 15 minutes, then the right code opens it.
    expect(await outcome(t.mailboxes.authenticate('alice', CODE, web('10.1.0.1')))).toBe(
      'AUTH_FAILED',
    );
    t.clock.now += 15 * 60_000;
    expect(await outcome(t.mailboxes.authenticate('alice', CODE, web('10.1.0.1')))).toBe('ok');
  });

  it('lets 12 concurrent log-ins with the right code all in (a mail client opening connections)', async () => {
    await t.mailboxes.add({ name: 'alice' }, CODE);
    const results = await Promise.all(
      Array.from({ length: 12 }, () =>
        outcome(t.mailboxes.authenticate('alice', CODE, web('10.2.0.1'))),
      ),
    );
    expect(results).toEqual(Array(12).fill('ok'));
    // Nothing counted against the mailbox or the address: a wrong code now is the first.
    expect(await outcome(t.mailboxes.authenticate('alice', WRONG, web('10.2.0.1')))).toBe(
      'AUTH_FAILED',
    );
    expect(await outcome(t.mailboxes.authenticate('alice', CODE, web('10.2.0.1')))).toBe('ok');
  });

  it('lets 60 concurrent right log-ins from one address in (users behind one NAT)', async () => {
    const names = Array.from({ length: 12 }, (_, i) => `user${i}`);
    for (const name of names) await t.mailboxes.add({ name }, CODE);
    const results = await Promise.all(
      Array.from({ length: 60 }, (_, i) =>
        outcome(t.mailboxes.authenticate(names[i % 12]!, CODE, web('198.51.100.1'))),
      ),
    );
    expect(results).toEqual(Array(60).fill('ok'));
  });

  it('lets the right code in within the limit, and it starts the count again', async () => {
    await t.mailboxes.add({ name: 'alice' }, CODE);
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 4; i++)
        await outcome(t.mailboxes.authenticate('alice', WRONG, web(`10.0.${round}.${i}`)));
      expect(await outcome(t.mailboxes.authenticate('alice', CODE, web('10.9.9.9')))).toBe('ok');
    }
  });

  it('refuses an address after 20 wrong codes over any mailboxes and channels, even the right code', async () => {
    for (const name of ['a', 'b', 'c', 'd', 'e', 'f']) await t.mailboxes.add({ name }, CODE);
    const channels = ['imap', 'web', 'smtp', 'phone'] as const;
    for (let i = 0; i < 20; i++) {
      const ref = i % 6 === 5 ? 'nobody' : 'abcde'[i % 6]!;
      expect(
        await outcome(
          t.mailboxes.authenticate(ref, WRONG, { channel: channels[i % 4]!, remote: '192.0.2.7' }),
        ),
      ).toBe('AUTH_FAILED');
    }
    // The same host over IPv6-mapped IPv4 and with a port is the same address.
    for (const remote of ['192.0.2.7', '::ffff:192.0.2.7', '192.0.2.7:5060'])
      expect(await outcome(t.mailboxes.authenticate('f', CODE, web(remote))), remote).toBe(
        'AUTH_FAILED',
      );
    expect(await outcome(t.mailboxes.authenticate('f', CODE, web('192.0.2.8')))).toBe('ok');
    t.clock.now += 15 * 60_000;
    expect(await outcome(t.mailboxes.authenticate('f', CODE, web('192.0.2.7')))).toBe('ok');
  });

  it('counts phone callers behind one PBX apart, so one caller cannot lock out the rest', async () => {
    await t.mailboxes.add({ name: 'alice' }, CODE);
    const pbx = '198.51.100.1:5060';
    for (let i = 0; i < 20; i++)
      await outcome(
        t.mailboxes.authenticate('nobody', WRONG, {
          channel: 'phone',
          remote: pbx,
          caller: '5550100',
        }),
      );
    const phone = (caller: string) =>
      outcome(t.mailboxes.authenticate('alice', CODE, { channel: 'phone', remote: pbx, caller }));
    expect(await phone('5550100')).toBe('AUTH_FAILED');
    expect(await phone('5550199')).toBe('ok');
  });
});

describe('failing closed', () => {
  it('refuses every attempt it cannot record, the right code too, and checks no code', async () => {
    await t.mailboxes.add({ name: 'alice' }, CODE);
    t.deps.store.reserveLogin = () =>
      Promise.reject(new VoicegateError('STORAGE_FULL', 'no space left in the store'));
    for (let i = 0; i < 8; i++)
      expect(await outcome(t.mailboxes.authenticate('alice', WRONG, web('10.0.0.1')))).toBe(
        'UNAVAILABLE',
      );
    expect(await outcome(t.mailboxes.authenticate('alice', CODE, web('10.0.0.1')))).toBe(
      'UNAVAILABLE',
    );
    expect(checked('alice')).toBe(0);
  });
});

describe('refusals alike', () => {
  it('gives an unknown, a locked and a wrong-code mailbox one answer after about one hash', async () => {
    await t.ctx.cleanup();
    t = await setup({ perAddressFailures: 0, scryptCost: DEFAULT_COST });
    await t.mailboxes.add({ name: 'shut' }, CODE);
    await t.mailboxes.add({ name: 'open' }, CODE);
    for (let i = 0; i < 5; i++) await outcome(t.mailboxes.authenticate('shut', WRONG, web('x')));
    await outcome(t.mailboxes.authenticate('nobody', WRONG, web('x'))); // makes the decoy hash

    const answer = async (ref: string, code: string): Promise<{ ms: number; text: string }> => {
      const start = performance.now();
      try {
        await t.mailboxes.authenticate(ref, code, web('x'));
        return { ms: performance.now() - start, text: 'ok' };
      } catch (err) {
        const e = err as VoicegateError;
        return { ms: performance.now() - start, text: `${e.code} ${e.message}` };
      }
    };
    const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    const runs = { locked: [] as number[], unknown: [] as number[], wrong: [] as number[] };
    const texts = new Set<string>();
    for (let i = 0; i < 4; i++) {
      for (const [kind, ref, code] of [
        ['locked', 'shut', CODE],
        ['unknown', 'nobody', CODE],
        ['wrong', 'open', WRONG],
      ] as const) {
        const { ms, text } = await answer(ref, code);
        runs[kind].push(ms);
        texts.add(text);
      }
    }
    expect([...texts]).toHaveLength(1);
    const wrong = median(runs.wrong);
    // Loose, for shared and busy machines: a refusal that skipped the hash (and the write) would
    // take a hundredth of the time.
    for (const kind of ['locked', 'unknown'] as const)
      expect(median(runs[kind]) / wrong, `${kind} vs wrong code`).toBeGreaterThan(0.25);
  });
});

describe('the address throttle', () => {
  it('keeps at most its size in addresses, forgetting the oldest', () => {
    const throttle = new AddressThrottle(2, 60_000, 3);
    for (const a of ['a', 'b', 'c', 'd']) {
      throttle.take(a, 0);
      throttle.take(a, 0);
    }
    // The others are at their limit; "a" was forgotten.
    expect(['d', 'c', 'b', 'a'].map((a) => throttle.take(a, 0))).toEqual([
      false,
      false,
      false,
      true,
    ]);
  });

  it('reads an address without its port or the IPv4-mapped prefix', () => {
    expect(clientAddress('192.0.2.1:5060')).toBe('192.0.2.1');
    expect(clientAddress('[2001:DB8::1]:5060')).toBe('2001:db8::1');
    expect(clientAddress('2001:db8::1')).toBe('2001:db8::1');
    expect(clientAddress('::ffff:192.0.2.1')).toBe('192.0.2.1');
  });
});
