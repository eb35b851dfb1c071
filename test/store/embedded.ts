import type { OpenedStore } from '../../server/domain/ports.ts';
import { AudioFiles } from '../../server/store/audio-files.ts';
import { openStore } from '../../server/store/open-store.ts';
import { SqliteStore } from '../../server/store/sqlite-store.ts';

/**
 * The embedded back end's own parts behind an opened store, for the tests of how it keeps data
 * (files, modes, crash recovery): only the store's own tests look behind the interfaces.
 */
export function embedded(opened: Pick<OpenedStore, 'store' | 'audio'>): {
  store: SqliteStore;
  audio: AudioFiles;
} {
  const { store, audio } = opened;
  if (!(store instanceof SqliteStore) || !(audio instanceof AudioFiles))
    throw new Error('not the embedded SQLite store');
  return { store, audio };
}

/** Opens the embedded store in `dataDir`, as the server does. */
export async function openEmbedded(
  dataDir: string,
  opts: { sweep?: boolean } = {},
): Promise<OpenedStore & ReturnType<typeof embedded>> {
  const opened = await openStore({ store: { backend: 'sqlite' }, dataDir }, opts);
  return { ...opened, ...embedded(opened) };
}
