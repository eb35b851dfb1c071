import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openEmbeddedStore } from '../../server/store/open-store.ts';
import { deliveryQueueContract } from './contract/delivery-queue.contract.ts';

// The delivery queue contract against a fresh SQLite store (folded into the single contract
// runner, sqlite.contract.test.ts, with the other contract files).
deliveryQueueContract(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'voicegate-queue-contract-'));
  const { store, audio } = openEmbeddedStore(dir);
  return {
    store,
    audio,
    close: async () => {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});
