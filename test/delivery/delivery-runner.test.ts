import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type {
  Delivery,
  DeliveryResult,
  DeliveryTarget,
  TargetKind,
} from '../../server/domain/delivery.ts';
import type { Context } from '../../server/context.ts';
import { DeliveryRunner, type TargetRegistration } from '../../server/delivery/delivery-runner.ts';
import { createLogger } from '../../server/log.ts';
import { SmtpTarget } from '../../server/mail/smtp-target.ts';
import { toneWav } from '../../server/media/tone.ts';
import { tempContext } from '../helpers/temp-context.ts';
import { tempData, type TempData } from '../helpers/temp-data.ts';
import { until } from '../mail/mail-helpers.ts';

const log = createLogger('silent');
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

async function context(): Promise<Context> {
  const ctx = await tempContext();
  cleanups.push(() => ctx.cleanup());
  return ctx;
}

function runner(
  ctx: Context,
  targets: TargetRegistration[],
  holder = `test-${randomUUID()}`,
): DeliveryRunner {
  const r = new DeliveryRunner({ queue: ctx.deliveries, targets, holder, log, pollMs: 50 });
  cleanups.push(() => r.stop(200));
  return r;
}

/** Queues `count` deliveries of a kind for a mailbox, as later issues' code will. */
async function queue(ctx: Context, target: TargetKind, count: number): Promise<void> {
  const [box] = await ctx.store.listMailboxes();
  const mailboxId = box?.id ?? (await ctx.mailboxes.add({ name: 'alice' }, '1234')).id;
  const wav = toneWav({ seconds: 1 });
  const key = await ctx.audio.put(wav);
  for (let i = 0; i < count; i++) {
    await ctx.store.queueDelivery(
      {
        target,
        kind: 'manual',
        mailboxId,
        recipient: `peer-${i}`,
        messageId: null,
        voicemailId: randomUUID(),
        identity: `${randomUUID()}@test`,
        callerNumber: '+3312345678',
        callerName: null,
        receivedAt: Date.now(),
        audio: { key, format: 'wav/pcm16/8000', bytes: wav.byteLength, durationMs: 1000 },
        priority: 'normal',
        private: false,
      },
      Date.now(),
    );
  }
}

/**
 * A target of the test's making: records what it is given and answers as `answer` says (by
 * default at once, ok). Registered as `peer`, a kind this issue declares but does not implement.
 */
class FakeTarget implements DeliveryTarget {
  readonly kind: TargetKind;
  readonly delivered: Delivery[] = [];
  inFlight = 0;
  maxInFlight = 0;
  answer: (item: Delivery, signal: AbortSignal) => Promise<DeliveryResult> = async () => ({
    status: 'ok',
  });

  constructor(kind: TargetKind = 'peer') {
    this.kind = kind;
  }

  async deliver(item: Delivery, signal: AbortSignal): Promise<DeliveryResult> {
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      const result = await this.answer(item, signal);
      if (result.status === 'ok') this.delivered.push(item);
      return result;
    } finally {
      this.inFlight--;
    }
  }
}

/** A TCP server that accepts connections and never says a word: an SMTP server that hangs. */
async function silentServer(): Promise<{ server: Server; port: number; sockets: Socket[] }> {
  const sockets: Socket[] = [];
  const server = createServer((s) => sockets.push(s));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  cleanups.push(async () => {
    for (const s of sockets) s.destroy();
    await new Promise((r) => server.close(r));
  });
  return { server, port: (server.address() as { port: number }).port, sockets };
}

/** The real SMTP target, for one server entry on loopback. */
function smtpTarget(ctx: Context, port: number, timeoutMs: number): SmtpTarget {
  return new SmtpTarget(
    {
      servers: [
        {
          host: '127.0.0.1',
          port,
          tls: 'opportunistic',
          plaintextFallback: false,
          user: '',
          password: '',
          authMethod: 'PLAIN',
          from: '',
          domains: [],
          caFile: '',
        },
      ],
      from: '',
      domain: 'voicegate.test',
      name: 'voicegate.test',
      timeoutMs,
      concurrency: 1,
    },
    ctx.store,
    ctx.audio,
  );
}

describe('the delivery runner', () => {
  it('delivers to a second target promptly while the SMTP server never answers', async () => {
    const ctx = await context();
    await ctx.mailboxes.add(
      { name: 'alice', extension: '201', email: 'alice@example.com', emailMode: 'copy' },
      '1234',
    );
    for (let i = 0; i < 3; i++) {
      await ctx.messages.deposit({ mailbox: '201', audio: toneWav({ seconds: 1 }) });
    }
    const silent = await silentServer();
    const smtp = smtpTarget(ctx, silent.port, 120_000);
    cleanups.push(() => smtp.close());
    const peer = new FakeTarget('peer');
    const r = runner(ctx, [
      { target: smtp, timeoutMs: 120_000, concurrency: 1 },
      { target: peer, timeoutMs: 5000, concurrency: 1 },
    ]);
    r.start();
    // The SMTP lane is busy with a server that has accepted the connection and says nothing.
    await until(() => silent.sockets.length > 0, 5000, 'the SMTP connection');

    const queuedAt = Date.now();
    await queue(ctx, 'peer', 1);
    r.poke();
    await until(() => peer.delivered.length === 1, 5000, 'the peer delivery');
    expect(Date.now() - queuedAt).toBeLessThan(1000);

    const left = await ctx.deliveries.list();
    expect(left.map((d) => d.target)).toEqual(['smtp', 'smtp', 'smtp']);
    // Still waiting on the silent server: nothing recorded for the SMTP items yet.
    expect(left.every((d) => d.attempts === 0 && d.status === 'pending')).toBe(true);
    expect(left.filter((d) => d.lease !== null)).toHaveLength(1);
  });

  it('gives a silent SMTP server one time limit per mail, then the mail waits for its next try', async () => {
    const ctx = await context();
    await ctx.mailboxes.add(
      { name: 'alice', extension: '201', email: 'alice@example.com', emailMode: 'copy' },
      '1234',
    );
    await ctx.messages.deposit({ mailbox: '201', audio: toneWav({ seconds: 1 }) });
    const silent = await silentServer();
    const smtp = smtpTarget(ctx, silent.port, 1500);
    cleanups.push(() => smtp.close());
    const started = Date.now();
    runner(ctx, [{ target: smtp, timeoutMs: 1500, concurrency: 1 }]).start();
    const [item] = await until(
      async () => {
        const items = await ctx.deliveries.list();
        return items[0]?.attempts === 1 && items;
      },
      5000,
      'the deferred mail',
    );
    expect(Date.now() - started).toBeLessThan(3000);
    expect(item).toMatchObject({ target: 'smtp', kind: 'copy', status: 'pending', lease: null });
    expect(item!.lastError).toContain(`127.0.0.1:${silent.port}`);
  });

  it('counts a delivery that takes longer than its target allows as a temporary failure', async () => {
    const ctx = await context();
    await queue(ctx, 'peer', 1);
    const stuck = new FakeTarget('peer');
    let aborted!: () => void;
    const abortSeen = new Promise<void>((resolve) => (aborted = resolve));
    stuck.answer = (_item, signal) =>
      new Promise(() => signal.addEventListener('abort', () => aborted()));
    const started = Date.now();
    runner(ctx, [{ target: stuck, timeoutMs: 300, concurrency: 1 }]).start();
    await abortSeen;
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    const [item] = await until(
      async () => {
        const items = await ctx.deliveries.list();
        return items[0]?.attempts === 1 && items;
      },
      5000,
      'the deferred item',
    );
    expect(item).toMatchObject({
      status: 'pending',
      lastError: 'no answer within 0.3 s',
      lease: null,
    });
    // The first back-off step: a minute.
    expect(item!.nextAttemptAt - Date.now()).toBeGreaterThan(55_000);
  });

  it("leaves a held target's items untried while it may not send, and sends them once it may", async () => {
    const ctx = await context();
    await queue(ctx, 'peer', 2);
    const held = new FakeTarget('peer');
    let sends = false;
    const other = new FakeTarget('smtp');
    const r = runner(ctx, [
      { target: held, timeoutMs: 1000, concurrency: 1, sendsNow: () => sends },
      { target: other, timeoutMs: 1000, concurrency: 1 },
    ]);
    r.start();
    await queue(ctx, 'smtp', 1);
    r.poke();
    // The other lane goes on; the held one claims nothing, for several polls.
    await until(() => other.delivered.length === 1, 5000, 'the other target delivered');
    for (let i = 0; i < 5; i++) {
      await new Promise((resolve) => setImmediate(resolve));
      r.poke();
    }
    expect(held.delivered).toEqual([]);
    const waiting = await ctx.deliveries.list();
    expect(waiting.map((d) => [d.target, d.status, d.attempts])).toEqual([
      ['peer', 'pending', 0],
      ['peer', 'pending', 0],
    ]);
    sends = true;
    r.poke();
    await until(() => held.delivered.length === 2, 5000, 'the held items sent');
  });

  it('keeps no more deliveries under way per target than its concurrency', async () => {
    const ctx = await context();
    await queue(ctx, 'peer', 7);
    const slow = new FakeTarget('peer');
    const waiting: (() => void)[] = [];
    slow.answer = () =>
      new Promise((resolve) => waiting.push(() => resolve({ status: 'ok' as const })));
    const r = runner(ctx, [{ target: slow, timeoutMs: 10_000, concurrency: 2 }]);
    r.start();
    await until(() => waiting.length === 2, 5000, 'two deliveries under way');
    // Release one delivery at a time; the lane refills each freed slot, never more.
    for (let done = 1; done <= 7; done++) {
      r.poke();
      expect(slow.inFlight).toBeLessThanOrEqual(2);
      waiting.shift()!();
      await until(() => slow.delivered.length === done, 5000, `delivery ${done}`);
      if (done < 7) await until(() => waiting.length > 0, 5000, 'the next delivery');
    }
    expect(slow.maxInFlight).toBe(2);
    await until(async () => (await ctx.deliveries.list()).length === 0, 5000, 'an empty queue');
  });

  it('takes over the item of a worker that died, once its lease ends', async () => {
    const ctx = await context();
    await queue(ctx, 'peer', 1);
    // A worker claims it and dies (it never records a result).
    const [held] = await ctx.deliveries.claim('peer', 'dead-worker', 10, 600);
    const target = new FakeTarget('peer');
    const r = runner(ctx, [{ target, timeoutMs: 5000, concurrency: 1 }]);
    r.start();
    await until(() => target.delivered.length === 1, 5000, 'the delivery after the lease');
    expect(Date.now()).toBeGreaterThanOrEqual(held!.lease!.until);
    expect(target.delivered.map((d) => d.id)).toEqual([held!.id]);
    await until(async () => (await ctx.deliveries.list()).length === 0, 5000, 'an empty queue');
  });

  it('delivers each item once when two workers, each with its own connection, share one queue', async () => {
    const data: TempData = tempData();
    const a = await data.open();
    const b = await data.open();
    cleanups.push(async () => {
      await a.close();
      await b.close();
      data.remove();
    });
    await queue(a, 'peer', 30);
    const seen: string[] = [];
    const make = () => {
      const t = new FakeTarget('peer');
      t.answer = async (item) => {
        seen.push(item.voicemailId);
        await new Promise((r) => setTimeout(r, 5));
        return { status: 'ok' };
      };
      return t;
    };
    runner(a, [{ target: make(), timeoutMs: 5000, concurrency: 3 }], 'node-a').start();
    runner(b, [{ target: make(), timeoutMs: 5000, concurrency: 3 }], 'node-b').start();
    await until(async () => (await a.deliveries.list()).length === 0, 10_000, 'an empty queue');
    expect(seen).toHaveLength(30);
    expect(new Set(seen).size).toBe(30);
  });

  it('leaves items of a kind no target is registered for in the queue', async () => {
    const ctx = await context();
    await queue(ctx, 'ews', 1);
    await queue(ctx, 'peer', 1);
    const target = new FakeTarget('peer');
    runner(ctx, [{ target, timeoutMs: 5000, concurrency: 1 }]).start();
    await until(() => target.delivered.length === 1, 5000, 'the peer delivery');
    expect(await ctx.deliveries.list()).toMatchObject([
      { target: 'ews', attempts: 0, lease: null },
    ]);
  });

  it('refuses two targets of one kind, and limits that allow nothing', async () => {
    const ctx = await context();
    const t = new FakeTarget('peer');
    expect(
      () =>
        new DeliveryRunner({
          queue: ctx.deliveries,
          targets: [
            { target: t, timeoutMs: 1000, concurrency: 1 },
            { target: new FakeTarget('peer'), timeoutMs: 1000, concurrency: 1 },
          ],
          holder: 'x',
          log,
        }),
    ).toThrow('two delivery targets of kind peer');
    expect(
      () =>
        new DeliveryRunner({
          queue: ctx.deliveries,
          targets: [{ target: t, timeoutMs: 1000, concurrency: 0 }],
          holder: 'x',
          log,
        }),
    ).toThrow(/concurrency and timeout/);
  });
});
