import { startOutbox } from '../mail/outbox-runner.ts';
import { SmtpTarget } from '../mail/smtp-target.ts';
import type { Part, Wiring } from './part.ts';

/** Sends the delivery queue to its targets, on the node that runs it. */
export function buildDeliveryPart(w: Wiring): Part {
  const { config } = w.loaded;
  const { context, log } = w;
  let stop: (() => Promise<void>) | null = null;
  let target: SmtpTarget | null = null;
  return {
    listen: async () => {
      target = new SmtpTarget(
        {
          servers: config.mail.servers,
          from: config.mail.from,
          domain: config.server.domain,
          webUrl: config.mail.webUrl || w.urls.http,
          name: config.server.domain,
        },
        context.store,
        context.audio,
      );
      const sender = startOutbox(context.outbox, target, log.child({ proto: 'smtp-out' }), {
        runsHere: () => w.once.runsHere('delivery'),
      });
      context.mailQueued.notify = sender.poke;
      stop = sender.stop;
      // Mail queued while the server was down goes at once, not at the first poll.
      sender.poke();
      if (config.mail.servers.length === 0)
        log.info({}, 'no outgoing SMTP server (mail.servers): e-mail waits in the queue');
    },
    close: async () => {
      context.mailQueued.notify = () => {};
      await stop?.();
      target?.close();
    },
  };
}
