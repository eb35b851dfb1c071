import { describe, expect, it } from 'vitest';
import type { VoicemailStore } from '../../server/domain/ports.ts';
import type { ImapSession } from '../../imap/imap-core.ts';
import { ImapNotifier } from '../../imap/notifier.ts';

/** A store with only the change feed: `wake(id)` is a change in mailbox `id`. */
function feedOnly(): { store: VoicemailStore; wake(id: number): void } {
  let listener: ((mailboxId: number) => void) | undefined;
  const store = {
    feed: {
      subscribe(cb: (mailboxId: number) => void) {
        listener = cb;
        return () => (listener = undefined);
      },
    },
  } as unknown as VoicemailStore;
  return { store, wake: (id) => listener?.(id) };
}

const sessionOf = (id: number): ImapSession => ({ user: { id } }) as unknown as ImapSession;
const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('IMAP notifier', () => {
  it('wakes every listening session of the changed mailbox once per burst, and only those', async () => {
    const { store, wake } = feedOnly();
    const notifier = new ImapNotifier(store);
    const woken: string[] = [];
    const handler = (name: string) => () => woken.push(name);
    const [a, b, c] = [handler('a'), handler('b'), handler('c')];
    notifier.addListener(sessionOf(1), a);
    notifier.addListener(sessionOf(1), b);
    notifier.addListener(sessionOf(1), b);
    notifier.addListener(sessionOf(2), c);
    wake(1);
    wake(1);
    await turn();
    expect(woken.sort()).toEqual(['a', 'b']);

    woken.length = 0;
    notifier.removeListener(sessionOf(1), a);
    notifier.removeListener(sessionOf(1), a);
    wake(1);
    wake(2);
    await turn();
    expect(woken.sort()).toEqual(['b', 'c']);

    woken.length = 0;
    notifier.removeListener(sessionOf(1), b);
    wake(1);
    await turn();
    expect(woken).toEqual([]);
    notifier.close();
  });

  it('wakes the other sessions when one stops listening while it is woken', async () => {
    const { store, wake } = feedOnly();
    const notifier = new ImapNotifier(store);
    const woken: string[] = [];
    const first = (): void => {
      woken.push('first');
      notifier.removeListener(sessionOf(1), first);
    };
    notifier.addListener(sessionOf(1), first);
    notifier.addListener(sessionOf(1), () => woken.push('second'));
    notifier.addListener(sessionOf(1), () => woken.push('third'));
    wake(1);
    await turn();
    expect(woken).toEqual(['first', 'second', 'third']);
    notifier.close();
  });
});
