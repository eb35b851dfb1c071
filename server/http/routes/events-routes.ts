import type { ServerResponse } from 'node:http';
import type { FastifyPluginAsync } from 'fastify';
import type { ApiDeps } from '../deps.ts';

const PING_MS = 15_000;

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
        const unsubscribe = deps.store.feed.subscribe((c) => {
          if (c.mailboxId !== mailboxId) return;
          res.write(
            `event: change\ndata: ${JSON.stringify({ kind: c.kind, messageId: c.messageId, state: c.state })}\n\n`,
          );
        });
        const ping = setInterval(() => res.write(': ping\n\n'), PING_MS);
        req.raw.on('close', () => {
          clearInterval(ping);
          unsubscribe();
          open.delete(res);
        });
      },
    );
  };
}
