import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import {
  backupName,
  backupsToPrune,
  nextBackupAt,
  type BackupSchedule,
} from '../domain/backup-schedule.ts';
import type { DomainLogger } from '../domain/ports.ts';
import { createBackup, type BackupSource } from './archive.ts';
import type { BackupDestination } from './destinations.ts';
import { NO_PROGRESS } from './progress.ts';

export interface ScheduledBackups {
  schedule: BackupSchedule;
  timeZone: string;
  keep: number;
  source: BackupSource;
  destinations: BackupDestination[];
  /** Where the archive is written before it is sent (removed after). */
  workDir: string;
  log: DomainLogger;
  /** Asked at each due time: only the node that runs the installation's once-only work backs up. */
  runsHere: () => boolean;
  now?: () => number;
}

/** Result of one run, per destination: sent (and older ones pruned), or why not. */
export interface BackupRun {
  name: string;
  sent: string[];
  failed: { destination: string; error: string }[];
  pruned: string[];
}

/**
 * Takes a backup at each scheduled time and sends it to every destination, each keeping the
 * newest `keep`. A destination that fails is logged and does not stop the others; the next
 * scheduled time comes anyway. Never two runs at once.
 */
export class BackupScheduler {
  readonly #o: ScheduledBackups;
  readonly #now: () => number;
  #timer: NodeJS.Timeout | null = null;
  #running: Promise<BackupRun> | null = null;
  #stopped = false;

  constructor(o: ScheduledBackups) {
    this.#o = o;
    this.#now = o.now ?? Date.now;
  }

  start(): void {
    this.#stopped = false;
    this.#arm(this.#now());
  }

  /** Waits for a run under way, so the store is not closed under it. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    await this.#running?.catch(() => {});
  }

  #arm(after: number): void {
    const at = nextBackupAt(this.#o.schedule, this.#o.timeZone, after);
    if (at === null || this.#stopped) return;
    // Timers cap at about 24.8 days; a weekly schedule is well within, and a late wake re-arms.
    this.#timer = setTimeout(() => void this.#due(at), Math.min(at - this.#now(), 2 ** 31 - 1));
    this.#timer.unref();
  }

  async #due(at: number): Promise<void> {
    if (this.#now() < at) return this.#arm(this.#now() - 1);
    try {
      if (this.#o.runsHere()) await this.run(at);
    } catch {
      // run() logged it.
    } finally {
      this.#arm(at);
    }
  }

  /** One backup now (as if taken at `at`), sent and pruned. */
  run(at = this.#now()): Promise<BackupRun> {
    if (this.#running) return this.#running;
    this.#running = this.#run(at).finally(() => (this.#running = null));
    return this.#running;
  }

  async #run(at: number): Promise<BackupRun> {
    const { source, log } = this.#o;
    const name = backupName(source.serverName, at);
    const file = join(this.#o.workDir, name);
    const result: BackupRun = { name, sent: [], failed: [], pruned: [] };
    await mkdir(this.#o.workDir, { recursive: true, mode: 0o700 });
    try {
      const manifest = await createBackup(source, file, NO_PROGRESS, new Date(at));
      log.info({ backup: name, counts: manifest.counts }, 'backup taken');
      for (const dest of this.#o.destinations) {
        try {
          await dest.upload(file);
          result.sent.push(dest.name);
          for (const old of backupsToPrune(
            await dest.list(),
            `voicegate-backup-${source.serverName}-`,
            this.#o.keep,
          )) {
            await dest.remove(old);
            result.pruned.push(`${dest.name}: ${old}`);
          }
          log.info({ backup: name, destination: dest.name }, 'backup sent');
        } catch (err) {
          result.failed.push({ destination: dest.name, error: (err as Error).message });
          log.warn({ err, backup: name, destination: dest.name }, 'backup not sent');
        }
      }
      return result;
    } catch (err) {
      log.warn({ err, backup: name }, 'backup failed');
      throw err;
    } finally {
      await rm(file, { force: true });
    }
  }
}
