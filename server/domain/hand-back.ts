import { randomUUID } from 'node:crypto';
import { isVoicemail, mailFactsOf, type NewDelivery } from './delivery.ts';
import { MESSAGE_STATES } from './message-state.ts';
import type { DomainLogger, VoicemailStore } from './ports.ts';
import type { PeerState } from './state-merge.ts';

/**
 * Failback (DESIGN.md, "Topology"): every message a backup recorded while it was live is
 * queued for the central as the `forward` a distributed server sends, under its own identity,
 * so the central stores it once however often it comes. The backup keeps its copy: the queue
 * removes only audio no message uses. One already waiting for the central is not queued again.
 * Then every state change made here while live, after them (the queue keeps the order), so
 * the central merges it into the message it has (`mergeState`). Returns how many were queued.
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
  const states = await queueStateChanges(deps, central, since, now);
  deps.log.info(
    { peer: central, queued, states, since },
    'messages recorded and state changes made while live queued for the central',
  );
  return queued + states;
}

/**
 * A `state` sync mail per message whose state changed here since `since` (played, saved,
 * deleted, undeleted while live): an `update` to the `peer` target carrying the state, the
 * change's time and this server's name. Purged messages are gone and send nothing. One already
 * waiting with the same change is not queued again.
 */
export async function queueStateChanges(
  deps: { store: VoicemailStore; serverName: string },
  peer: string,
  since: number,
  now: number,
): Promise<number> {
  const waiting = new Set(
    (await deps.store.listDeliveries())
      .filter(isVoicemail)
      .filter((d) => d.target === 'peer' && d.kind === 'update' && d.payload?.peer === peer)
      .map((d) => `${d.mailboxId} ${d.identity} ${String(d.payload?.changedAt)}`),
  );
  let queued = 0;
  for (const mailbox of await deps.store.listMailboxes()) {
    for (const m of await deps.store.listMessages(mailbox.id, { states: MESSAGE_STATES })) {
      if (m.stateChangedAt < since || m.stateChangedAt === m.receivedAt) continue;
      if (waiting.has(`${mailbox.id} ${m.identity} ${m.stateChangedAt}`)) continue;
      const state: PeerState = {
        state: m.state,
        deletedFrom: m.deletedFrom,
        changedAt: m.stateChangedAt,
        server: deps.serverName,
      };
      await deps.store.queueDelivery(
        {
          voicemailId: randomUUID(),
          ...mailFactsOf(m),
          target: 'peer',
          kind: 'update',
          mailboxId: mailbox.id,
          recipient: mailbox.name,
          messageId: m.id,
          payload: { peer, ...state },
        },
        now,
      );
      queued++;
    }
  }
  return queued;
}
