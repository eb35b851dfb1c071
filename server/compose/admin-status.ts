import { statfs } from 'node:fs/promises';
import type { Context } from '../context.ts';

/** What the running parts report for the status page, by name (listeners, calls). */
export type PartsReport = () => Record<string, unknown>;

/**
 * The administrator's status page: version and uptime, whether the store answers, the disk
 * space left where the data lives, the queue's counts, and what the parts report (each
 * listener's connections, including IMAP sessions; calls in progress).
 */
export function adminStatus(context: Context, version: string, parts: PartsReport) {
  const started = Date.now();
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
    };
  };
}
