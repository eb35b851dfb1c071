import { describe, expect, it } from 'vitest';
import { shutDown } from '../../server/cli/commands/serve.ts';

/** A log that keeps its warnings. */
function warnings(): { info(): void; warn(o: object, m: string): void; seen: [object, string][] } {
  const seen: [object, string][] = [];
  return { info: () => {}, warn: (o, m) => void seen.push([o, m]), seen };
}

describe('the shutdown deadline', () => {
  it('exits with 1 and names the parts that did not close in time', async () => {
    const log = warnings();
    const code = await new Promise<number>((resolve) => {
      void shutDown(
        { close: () => new Promise(() => {}), closing: () => ['imap'] },
        log,
        resolve,
        200,
      );
    });
    expect(code).toBe(1);
    expect(log.seen).toEqual([
      [{ parts: ['imap'], ms: 200 }, 'shutdown did not finish in time: exiting'],
    ]);
  });

  it('exits with 0 when everything closed but something still holds the process', async () => {
    const log = warnings();
    const holder = setInterval(() => {}, 1000);
    const code = await new Promise<number>((resolve) => {
      void shutDown({ close: async () => {} }, log, resolve, 200);
    });
    clearInterval(holder);
    expect(code).toBe(0);
    expect(log.seen[0]![1]).toBe('closed, but something still holds the process: exiting');
    expect(log.seen[0]![0]).toMatchObject({ resources: expect.arrayContaining(['Timeout']) });
  });
});
