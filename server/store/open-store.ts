import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { AudioFiles } from './audio-files.ts';
import { SqliteStore } from './sqlite-store.ts';

export interface EmbeddedStore {
  store: SqliteStore;
  audio: AudioFiles;
}

/** Opens (creating if needed) the embedded store in `dataDir`: `voicegate.db` and `audio/`. */
export function openEmbeddedStore(
  dataDir: string,
  opts: { sweep?: boolean; onFeedError?: (err: unknown) => void } = {},
): EmbeddedStore {
  mkdirSync(dataDir, { recursive: true });
  const store = new SqliteStore(join(dataDir, 'voicegate.db'), { onFeedError: opts.onFeedError });
  const audio = new AudioFiles(join(dataDir, 'audio'));
  if (opts.sweep) {
    const referenced = store.referencedAudio();
    audio.sweep((key) => referenced.has(key));
  }
  return { store, audio };
}
