import { describeDatabaseUrl } from '../../domain/database-url.ts';
import { isVoicegateError, VoicegateError } from '../../domain/errors.ts';
import type { OpenedStore } from '../../domain/ports.ts';
import { PgAccess } from './pg-access.ts';
import { PgAudio } from './pg-audio.ts';
import { PgChangeFeed } from './pg-change-feed.ts';
import { PgLeaderLease } from './pg-leader.ts';
import { migratePg } from './pg-migrations.ts';
import { PgStore } from './pg-store.ts';

/** Audio unreferenced for this long is left over from a crash (a deposit takes far less). */
const SWEEP_GRACE_MS = 60 * 60 * 1000;

/**
 * Opens the PostgreSQL store at `url`: migrates the schema (one node at a time), starts the
 * change feed's listening connection, and returns the ports.
 */
export async function openPostgres(
  url: string,
  opts: { sweep?: boolean; onFeedError?: (err: unknown) => void } = {},
): Promise<OpenedStore> {
  const db = new PgAccess(url);
  const feed = new PgChangeFeed(url, { onError: opts.onFeedError });
  try {
    await migratePg(db);
    await feed.start();
  } catch (err) {
    await feed.stop();
    await db.close();
    throw openError(url, err);
  }
  const store = new PgStore(db, feed);
  const audio = new PgAudio(db);
  if (opts.sweep) await audio.sweep(SWEEP_GRACE_MS);
  return { store, audio, health: () => store.health(), close: () => store.close() };
}

/** The leader lease of the nodes sharing the store at `url`, trying at once. */
export async function openLeaderLease(
  url: string,
  opts: { tryEveryMs?: number; onChange?: (leader: boolean) => void } = {},
): Promise<PgLeaderLease> {
  const lease = new PgLeaderLease(url, opts);
  await lease.start();
  return lease;
}

/**
 * Why the store cannot be opened, naming the server and database (never the password) and
 * PostgreSQL's own reason (a refused connection, an unknown database, a wrong password).
 */
function openError(url: string, err: unknown): unknown {
  if (isVoicegateError(err) && err.code !== 'UNAVAILABLE') return err;
  const cause = (isVoicegateError(err) ? err.cause : err) as Error | undefined;
  const where = describeDatabaseUrl(url);
  return new VoicegateError(
    'UNAVAILABLE',
    `cannot open the PostgreSQL store at ${where}: ${cause?.message ?? String(err)}`,
    { cause: err },
  );
}
