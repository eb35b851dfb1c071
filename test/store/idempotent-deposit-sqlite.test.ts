/** Runs the idempotent-deposit contract against the embedded SQLite store in a temp folder. */
import { rmSync } from 'node:fs';
import { openEmbeddedStore } from '../../server/store/open-store.ts';
import { makeTempDir } from '../helpers/temp-data.ts';
import { idempotentDepositContract } from './contract/idempotent-deposit.contract.ts';

idempotentDepositContract(async () => {
  const dir = makeTempDir();
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
