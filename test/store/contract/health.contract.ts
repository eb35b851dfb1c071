import { describe, expect, it } from 'vitest';
import type { OpenedStore } from './opened-store.ts';

export function healthContract(open: () => Promise<OpenedStore>): void {
  describe('health', () => {
    it('is null while the store answers, and says why once it does not', async () => {
      const opened = await open();
      const second = await opened.reopen();
      expect(await opened.health()).toBeNull();
      await second.close();
      // Closing another handle leaves this one well.
      expect(await opened.health()).toBeNull();
      await opened.close();
      expect(await opened.health()).toMatch(/\S/);
    });
  });
}
