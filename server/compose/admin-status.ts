import { statfs } from 'node:fs/promises';
import type { Context } from '../context.ts';
import type { ConnectionStats } from '../net/connection-limits.ts';
import { folderBytes } from './monitor-part.ts';

/** What the running parts report for the status page, by name (listeners, calls). */
export type PartsReport = () => Record<string, unknown>;

/** What only a running server knows; absent (a test's app, a role without it) shows as none. */
export interface LiveSources {
  /** Each listener's connection counts, by name (http, imap, imaps, smtp, sip). */
  listeners?: Record<string, () => ConnectionStats>;
  /** The port each listener bound, once the server listens. */
  ports?: () => Record<string, number> | undefined;
  /** Calls in progress and in all, when this process answers calls. */
  calls?: () => { active: number; total: number } | null;
}

/** A store's bytes are summed at most this often: walking the audio folder is not free. */
const STORE_SIZE_MS = 60_000;

interface TargetSeen {
  lastSuccessAt: number | null;
  lastFailureAt: number | null;
  lastError: string | null;
}

/**
 * The administrator's status page: version and uptime, whether the store answers and its size,
 * the disk space left where the data lives, the queue's counts, each listener with its port
 * and connections (IMAP sessions are the imap and imaps ones), calls in progress, the PBX
 * registration and each Exchange connection's last delivery, as the observations report them.
 * The topology is left null here: the several-servers status fills it in.
 */
export function adminStatus(
  context: Context,
  version: string,
  parts: PartsReport,
  live: LiveSources = {},
) {
  const started = Date.now();
  const { config } = context.loaded;
  const registrar = config.sip.pbx.register && config.sip.pbx.uri ? config.sip.pbx.uri : null;
  let pbx = { state: 'registering', detail: null as string | null, since: null as number | null };
  const targets = new Map<string, TargetSeen>();
  context.observers.watch((o) => {
    if (o.event === 'registration')
      pbx = { state: o.registered ? 'registered' : 'failed', detail: o.detail, since: Date.now() };
    if (o.event === 'delivery' && (o.target === 'ews' || o.target === 'graph')) {
      const seen = targets.get(o.target) ?? {
        lastSuccessAt: null,
        lastFailureAt: null,
        lastError: null,
      };
      if (o.result === 'delivered') seen.lastSuccessAt = Date.now();
      else {
        seen.lastFailureAt = Date.now();
        seen.lastError = o.reason ?? o.result;
      }
      targets.set(o.target, seen);
    }
  });
  let sized: { at: number; bytes: Promise<number | null> } | null = null;
  const storeBytes = () => {
    if (!sized || Date.now() - sized.at > STORE_SIZE_MS)
      sized = { at: Date.now(), bytes: folderBytes(context.loaded.dataDir).catch(() => null) };
    return sized.bytes;
  };

  return async () => {
    const problem = await context.health();
    let disk = null;
    try {
      const s = await statfs(context.loaded.dataDir);
      disk = {
        path: context.loaded.dataDir,
        freeBytes: s.bavail * s.bsize,
        totalBytes: s.blocks * s.bsize,
      };
    } catch {
      // A data folder that cannot be read shows as no figure, not as a failed page.
    }
    const items = await context.deliveries.list();
    const ports = live.ports?.() ?? {};
    const listeners = Object.entries(live.listeners ?? {}).map(([name, stats]) => {
      const { active, refused } = stats();
      return { name, port: ports[name] ?? null, active, refused };
    });
    const imap = listeners.filter((l) => l.name === 'imap' || l.name === 'imaps');
    const calls = live.calls?.() ?? null;
    return {
      version,
      uptimeSeconds: Math.round((Date.now() - started) / 1000),
      store: { ok: problem === null, problem },
      disk,
      queue: {
        pending: items.filter((d) => d.status === 'pending').length,
        failed: items.filter((d) => d.status === 'failed').length,
      },
      parts: parts(),
      listeners,
      calls: calls && { active: calls.active, total: calls.total },
      imapSessions: imap.length ? imap.reduce((n, l) => n + l.active, 0) : null,
      // Only a node that answers calls registers (and only the one that runs the once-only work).
      pbx: registrar && live.calls ? { registrar, ...pbx } : null,
      storeBytes: await storeBytes(),
      exchange: config.exchange.connections.map((c) => ({
        name: c.name,
        kind: c.kind,
        ...(targets.get(c.kind) ?? { lastSuccessAt: null, lastFailureAt: null, lastError: null }),
      })),
      topology: null,
    };
  };
}
