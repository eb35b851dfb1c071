import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import { ALARM_KIND_NAMES, type Alarm } from '../domain/alarms.ts';
import { TARGET_KINDS } from '../domain/delivery.ts';
import type { Observation, Observers } from '../domain/observe.ts';

/** A listener's connections now and refused since start (server/net's counts). */
export interface ListenerCounts {
  active: number;
  refused: number;
}

/** What the metrics read when scraped: each a figure the part that owns it already keeps. */
export interface MetricSources {
  /** The phone's calls: in progress now, accepted and refused since start. */
  calls?: () => { active: number; total: number; refused: number; refusedPerSource: number };
  /** Each TCP listener's connections, by name (imap, imaps, smtp, http, sip). */
  listeners: () => Record<string, ListenerCounts>;
  /** The delivery queue: pending and failed items per target, the oldest pending's time. */
  queue: () => Promise<QueueFigures>;
  /** The data folder's disk. */
  disk: () => Promise<{ freeBytes: number; sizeBytes: number }>;
  /** Web sessions alive now, of mailboxes and of administrators (counted in the store). */
  webSessions?: () => Promise<{ mailbox: number; admin: number }>;
  /** Bytes the store holds (database and audio). */
  storeBytes: () => Promise<number>;
  /** The RTP media clock's lateness histogram at the given bounds (ms). */
  lateness?: (boundsMs: readonly number[]) => { buckets: number[]; packets: number; sumMs: number };
  alarms: () => Alarm[];
  /** The syslog sink's records sent and dropped, when one is configured. */
  syslog?: () => { sent: number; dropped: number };
}

export interface QueueFigures {
  pending: Record<string, number>;
  failed: Record<string, number>;
  /** When the oldest pending item was queued; null when none is pending. */
  oldestPendingAt: number | null;
}

const LINT_REFUSED = [
  'nodejs_active_handles_total',
  'nodejs_active_requests_total',
  'nodejs_active_resources_total',
];
const LATENESS_BOUNDS_MS = [0.5, 1, 2, 5, 10, 20, 50, 100, 200] as const;
const LOGIN_CHANNELS = ['imap', 'web', 'phone', 'smtp', 'cli', 'admin'] as const;

/**
 * The Prometheus registry of one process. Counters follow the observations (log-ins,
 * deposits, deliveries); gauges read their sources when scraped, so nothing is counted twice
 * and nothing is polled between scrapes. Labels are only channels, target kinds, outcomes and
 * alarm kinds: never a mailbox, an address or anything a caller sent.
 */
export class Metrics {
  readonly registry = new Registry();
  readonly #unwatch: () => void;

  constructor(observers: Observers, sources: MetricSources, now: () => number = Date.now) {
    const r = this.registry;
    collectDefaultMetrics({ register: r, eventLoopMonitoringPrecision: 20 });
    // Gauges prom-client names like counters: Prometheus' own lint (promtool) refuses them.
    for (const name of LINT_REFUSED) r.removeSingleMetric(name);

    const logins = new Counter({
      name: 'voicegate_logins_total',
      help: 'Log-ins by channel (admin: the admin area) and outcome (ok, failed: wrong mailbox, code or password, refused: locked, throttled or no access)',
      labelNames: ['channel', 'outcome'],
      registers: [r],
    });
    const lockouts = new Counter({
      name: 'voicegate_lockouts_total',
      help: 'Mailboxes (or administrators: admin) locked after repeated wrong codes, by the channel of the last one',
      labelNames: ['channel'],
      registers: [r],
    });
    const deposits = new Counter({
      name: 'voicegate_deposits_total',
      help: 'Voicemail stored, by the channel it came through',
      labelNames: ['channel'],
      registers: [r],
    });
    const deliveries = new Counter({
      name: 'voicegate_deliveries_total',
      help: 'Delivery attempts by target kind and result (delivered, deferred, failed, lost)',
      labelNames: ['target', 'result'],
      registers: [r],
    });
    const sse = new Gauge({
      name: 'voicegate_sse_clients',
      help: 'Web pages following live changes (server-sent events)',
      registers: [r],
    });
    for (const channel of LOGIN_CHANNELS) {
      for (const outcome of ['ok', 'failed', 'refused']) logins.inc({ channel, outcome }, 0);
      lockouts.inc({ channel }, 0);
    }
    for (const channel of ['phone', 'smtp', 'cli', 'peer', 'other']) deposits.inc({ channel }, 0);
    for (const target of TARGET_KINDS)
      for (const result of ['delivered', 'deferred', 'failed'])
        deliveries.inc({ target, result }, 0);
    sse.set(0);

    const onObservation = (o: Observation): void => {
      if (o.event === 'login') logins.inc({ channel: o.channel, outcome: o.outcome });
      else if (o.event === 'lockout') lockouts.inc({ channel: o.channel });
      else if (o.event === 'deposit') deposits.inc({ channel: o.channel });
      else if (o.event === 'delivery') deliveries.inc({ target: o.target, result: o.result });
      else if (o.event === 'stream') sse.inc(o.delta);
    };
    this.#unwatch = observers.watch(onObservation);

    if (sources.calls) {
      const calls = sources.calls;
      new Gauge({
        name: 'voicegate_calls_in_progress',
        help: 'Calls in progress',
        registers: [r],
        collect() {
          this.set(calls().active);
        },
      });
      this.#counterFrom(
        'voicegate_calls_total',
        'Calls since start by outcome (accepted; refused: every port busy; refused_source: the source had its share)',
        () => {
          const c = calls();
          return [
            { labels: { outcome: 'accepted' }, value: c.total },
            { labels: { outcome: 'refused' }, value: c.refused - c.refusedPerSource },
            { labels: { outcome: 'refused_source' }, value: c.refusedPerSource },
          ];
        },
      );
    }
    new Gauge({
      name: 'voicegate_connections',
      help: 'Connections open now, by listener (imap, imaps: IMAP sessions; smtp; http; sip over TCP)',
      labelNames: ['listener'],
      registers: [r],
      collect() {
        this.reset();
        for (const [listener, c] of Object.entries(sources.listeners()))
          this.set({ listener }, c.active);
      },
    });
    this.#counterFrom(
      'voicegate_connections_refused_total',
      'Connections refused by the per-address or total limit since start, by listener',
      () =>
        Object.entries(sources.listeners()).map(([listener, c]) => ({
          labels: { listener },
          value: c.refused,
        })),
    );
    // One read of the queue serves the three queue gauges of a scrape.
    let queueRead: { at: number; figures: Promise<QueueFigures> } | null = null;
    const queue = (): Promise<QueueFigures> => {
      if (!queueRead || now() - queueRead.at > 1000)
        queueRead = { at: now(), figures: sources.queue() };
      return queueRead.figures;
    };
    new Gauge({
      name: 'voicegate_queue_items',
      help: 'Items in the delivery queue by target kind and status (pending, failed)',
      labelNames: ['target', 'status'],
      registers: [r],
      async collect() {
        const q = await queue();
        for (const target of TARGET_KINDS) {
          this.set({ target, status: 'pending' }, q.pending[target] ?? 0);
          this.set({ target, status: 'failed' }, q.failed[target] ?? 0);
        }
      },
    });
    new Gauge({
      name: 'voicegate_queue_oldest_age_seconds',
      help: 'How long the oldest pending delivery has waited (0 when none is pending)',
      registers: [r],
      async collect() {
        const at = (await queue()).oldestPendingAt;
        this.set(at === null ? 0 : Math.max(0, (now() - at) / 1000));
      },
    });
    new Gauge({
      name: 'voicegate_disk_free_bytes',
      help: "Free space on the data folder's disk (for an unprivileged user)",
      registers: [r],
      async collect() {
        this.set((await sources.disk()).freeBytes);
      },
    });
    if (sources.webSessions) {
      const webSessions = sources.webSessions;
      new Gauge({
        name: 'voicegate_web_sessions',
        help: 'Web sessions alive now (logged in, not expired) by principal (mailbox, admin), counted in the store every server shares',
        labelNames: ['principal'],
        registers: [r],
        async collect() {
          const s = await webSessions();
          this.set({ principal: 'mailbox' }, s.mailbox);
          this.set({ principal: 'admin' }, s.admin);
        },
      });
    }
    new Gauge({
      name: 'voicegate_store_bytes',
      help: 'Bytes the store holds in the data folder (database and audio files)',
      registers: [r],
      async collect() {
        this.set(await sources.storeBytes());
      },
    });
    new Gauge({
      name: 'voicegate_alarm_active',
      help: 'Alarms active now, by kind (README: Monitoring)',
      labelNames: ['kind'],
      registers: [r],
      collect() {
        const active = sources.alarms();
        for (const kind of ALARM_KIND_NAMES)
          this.set({ kind }, active.filter((a) => a.kind === kind).length);
      },
    });
    if (sources.syslog) {
      const syslog = sources.syslog;
      this.#counterFrom(
        'voicegate_syslog_records_total',
        'Records for the syslog collector since start: sent, or dropped while it was away',
        () => {
          const s = syslog();
          return [
            { labels: { result: 'sent' }, value: s.sent },
            { labels: { result: 'dropped' }, value: s.dropped },
          ];
        },
      );
    }
    if (sources.lateness) this.#lateness(sources.lateness);
  }

  /** A counter some part keeps itself (calls, refused connections), read at each scrape. */
  #counterFrom(
    name: string,
    help: string,
    read: () => { labels: Record<string, string>; value: number }[],
  ): void {
    this.#register({ name, help, type: 'counter', values: read });
  }

  #register(m: {
    name: string;
    help: string;
    type: 'counter' | 'histogram';
    values: () => { labels: Record<string, string>; value: number; metricName?: string }[];
  }): void {
    this.registry.registerMetric({
      name: m.name,
      help: m.help,
      get: () => ({
        name: m.name,
        help: m.help,
        type: m.type,
        aggregator: 'sum',
        values: m.values(),
      }),
    } as unknown as Parameters<Registry['registerMetric']>[0]);
  }

  /**
   * The media clock keeps its own fixed histogram (no allocation per packet); it is shown as
   * a Prometheus histogram read from it at each scrape.
   */
  #lateness(read: NonNullable<MetricSources['lateness']>): void {
    const name = 'voicegate_rtp_lateness_seconds';
    const help = 'How late RTP packets were sent against their ideal 20 ms ticks';
    this.#register({
      name,
      help,
      type: 'histogram',
      values: () => {
        const h = read(LATENESS_BOUNDS_MS);
        const bucket = `${name}_bucket`;
        return [
          ...LATENESS_BOUNDS_MS.map((ms, i) => ({
            labels: { le: String(ms / 1000) },
            value: h.buckets[i]!,
            metricName: bucket,
          })),
          { labels: { le: '+Inf' }, value: h.packets, metricName: bucket },
          { labels: {}, value: h.sumMs / 1000, metricName: `${name}_sum` },
          { labels: {}, value: h.packets, metricName: `${name}_count` },
        ];
      },
    });
  }

  /** The text a scrape gets, and its content type. */
  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }

  close(): void {
    this.#unwatch();
    this.registry.clear();
  }
}
