import type { ServerResponse } from 'node:http';
import type { FastifyPluginAsync } from 'fastify';
import type { Change } from '../../domain/message.ts';
import type { JournalStore } from '../../domain/ports.ts';
import type { ApiDeps } from '../deps.ts';
import { messageInfo } from '../message-view.ts';

const PING_MS = 15_000;

/**
 * One mailbox's journal read on from its own modseq at each wake-up of the feed, one read at a
 * time; wake-ups during a read make one more read after it.
 */
class JournalFollower {
  readonly #store: JournalStore;
  readonly #mailboxId: number;
  readonly #send: (changes: Change[]) => Promise<void>;
  #modseq: number | null = null;
  #reading = false;
  #again = false;

  constructor(store: JournalStore, mailboxId: number, send: (changes: Change[]) => Promise<void>) {
    this.#store = store;
    this.#mailboxId = mailboxId;
    this.#send = send;
  }

  async start(): Promise<void> {
    this.#modseq = await this.#store.highestModseq(this.#mailboxId);
    if (this.#again) this.wake();
  }

  wake(): void {
    this.#again = true;
    if (this.#reading || this.#modseq === null) return;
    this.#reading = true;
    void this.#read();
  }

  async #read(): Promise<void> {
    try {
      while (this.#again) {
        this.#again = false;
        const changes = await this.#store.changesSince(this.#mailboxId, this.#modseq!);
        if (changes.length === 0) continue;
        await this.#send(changes);
        for (const c of changes) this.#modseq = Math.max(this.#modseq!, c.modseq);
      }
    } catch {
      // The mailbox is gone or the store is closing: the page's next request will say which.
    } finally {
      this.#reading = false;
    }
  }
}

/** Server-sent events: every change to the logged-in mailbox, from any channel or process. */
export function eventRoutes(deps: ApiDeps): FastifyPluginAsync {
  return async (app) => {
    // A stream never ends by itself: at shutdown each one is ended here, or it would hold the
    // server open (the page's EventSource reconnects to whichever server comes next).
    const open = new Set<ServerResponse>();
    app.addHook('preClose', async () => {
      for (const res of open) res.end();
      open.clear();
    });
    app.get(
      '/api/events',
      {
        onRequest: deps.sessions.require,
        schema: { summary: 'Live changes (text/event-stream)' },
      },
      async (req, reply) => {
        const mailboxId = req.mailbox!.id;
        reply.hijack();
        const res = reply.raw;
        res.writeHead(200, {
          'Content-Type': 'text/event-stream; charset=utf-8',
          'Cache-Control': 'no-store',
          Connection: 'keep-alive',
          'X-Accel-Buffering': 'no',
        });
        res.write('retry: 2000\n\n');
        open.add(res);
        deps.observe?.({ event: 'stream', kind: 'sse', delta: 1 });
        let box: { timeZone: string } = req.mailbox!;
        const follow = new JournalFollower(deps.store, mailboxId, async (changes) => {
          // One event per message changed, carrying it as it is now: a page updates its one row
          // without asking for the list again. A move's two entries (removed, added) make one.
          const last = new Map<string, Change>();
          let mailboxChanged = false;
          for (const c of changes) {
            if (c.messageId) last.set(c.messageId, c);
            else mailboxChanged = true;
          }
          const counts = await deps.messages.counts(mailboxId);
          const send = (data: object) =>
            res.write(`event: change\ndata: ${JSON.stringify(data)}\n\n`);
          // Settings or greetings changed: the page reloads the mailbox's own data.
          if (mailboxChanged) box = (await deps.store.getMailbox(mailboxId)) ?? box;
          if (mailboxChanged)
            send({ kind: 'mailbox', messageId: null, state: null, message: null, counts });
          for (const c of last.values()) {
            const m = await deps.store.getMessage(c.messageId!);
            const message = m && m.mailboxId === mailboxId ? messageInfo(m, box) : null;
            send({ kind: c.kind, messageId: c.messageId, state: c.state, message, counts });
          }
        });
        // Subscribed before the modseq is read, so no change falls between the two.
        const unsubscribe = deps.store.feed.subscribe((id) => {
          if (id === mailboxId) follow.wake();
        });
        const ping = setInterval(() => res.write(': ping\n\n'), PING_MS);
        req.raw.on('close', () => {
          clearInterval(ping);
          unsubscribe();
          open.delete(res);
          deps.observe?.({ event: 'stream', kind: 'sse', delta: -1 });
        });
        // A mailbox removed meanwhile: the stream ends and the page's next request says why.
        follow.start().catch(() => res.end());
      },
    );
  };
}
