import { randomUUID } from 'node:crypto';
import { isVoicemail, mailFactsOf, type NewDelivery } from './delivery.ts';
import { MESSAGE_STATES } from './message-state.ts';
import type { DomainLogger, VoicemailStore } from './ports.ts';

/**
 * Failback (DESIGN.md, "Topology"): every message a backup recorded while it was live is
 * queued for the central as the `forward` a distributed server sends, under its own identity,
 * so the central stores it once however often it comes. The backup keeps its copy: the queue
 * removes only audio no message uses. One already waiting for the central is not queued again.
 * Returns how many were queued.
 */
export async function queueHandBack(
  deps: { store: VoicemailStore; log: DomainLogger; serverName: string },
  central: string,
  since: number,
  now: number,
): Promise<number> {
  const waiting = new Set(
    (await deps.store.listDeliveries())
      .filter(isVoicemail)
      .filter((d) => d.target === 'peer' && d.payload?.peer === central)
      .map((d) => `${d.mailboxId} ${d.identity}`),
  );
  let queued = 0;
  for (const mailbox of await deps.store.listMailboxes()) {
    const messages = await deps.store.listMessages(mailbox.id, { states: MESSAGE_STATES });
    for (const m of messages) {
      if (m.originServer !== deps.serverName || m.receivedAt < since) continue;
      if (waiting.has(`${mailbox.id} ${m.identity}`)) continue;
      const mail: NewDelivery = {
        voicemailId: randomUUID(),
        ...mailFactsOf(m),
        target: 'peer',
        kind: 'forward',
        mailboxId: mailbox.id,
        recipient: mailbox.name,
        messageId: null,
        // The backup mailed it while live: the central keeps it and mails nothing again.
        payload: { peer: central, mailed: true },
      };
      await deps.store.queueDelivery(mail, now);
      queued++;
    }
  }
  deps.log.info(
    { peer: central, queued, since },
    'messages recorded while live queued for the central',
  );
  return queued;
}
