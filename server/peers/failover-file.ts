import {
  closeSync,
  fsyncSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { FAILOVER_STATES } from '../domain/failover.ts';
import type { SavedFailover } from './failover-watcher.ts';

/**
 * A backup's watch of its central, kept in its data folder: the state (so a restart resumes
 * it, and `voicegate topology status` reads it) and an administrator's failback request,
 * which `voicegate topology failback` leaves there for the running server to take at its next
 * heartbeat. The data folder is the one thing the command and the server surely share.
 */
export class FailoverFiles {
  readonly #state: string;
  readonly #request: string;

  constructor(dataDir: string) {
    this.#state = join(dataDir, 'failover-state.json');
    this.#request = join(dataDir, 'failback-request');
  }

  load(): SavedFailover | null {
    let raw: unknown;
    try {
      raw = JSON.parse(readFileSync(this.#state, 'utf8'));
    } catch {
      return null;
    }
    const s = raw as Partial<SavedFailover>;
    if (!s || !(FAILOVER_STATES as readonly unknown[]).includes(s.state)) return null;
    return {
      state: s.state!,
      missed: Number(s.missed) || 0,
      changedAt: Number(s.changedAt) || 0,
      lastBeatAt: typeof s.lastBeatAt === 'number' ? s.lastBeatAt : null,
      liveSince: typeof s.liveSince === 'number' ? s.liveSince : null,
      returnedAt: typeof s.returnedAt === 'number' ? s.returnedAt : null,
      handedBackUntil: typeof s.handedBackUntil === 'number' ? s.handedBackUntil : null,
      handBackDue: s.handBackDue === true,
    };
  }

  /** Written whole and synced before it replaces the last one: never half a state. */
  save(state: SavedFailover): void {
    const tmp = `${this.#state}.tmp`;
    writeFileSync(tmp, JSON.stringify(state));
    const fd = openSync(tmp, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, this.#state);
  }

  requestFailback(): void {
    writeFileSync(this.#request, `${new Date().toISOString()}\n`);
  }

  /** Whether a failback was asked for; the request is taken (removed) either way. */
  takeFailbackRequest(): boolean {
    try {
      rmSync(this.#request);
      return true;
    } catch {
      return false;
    }
  }
}
