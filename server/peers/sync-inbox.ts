import type { MessageService } from '../domain/message-service.ts';
import { VoicegateError } from '../domain/errors.ts';
import { NonceMemory, verifySync, type SyncInbox } from '../domain/peer-trust.ts';
import type { Logger } from '../log.ts';
import type { Peer, PeerSet } from './peer-set.ts';
import { ReplicaReceiver, type ReplicaReceiverDeps } from './replica-receiver.ts';
import {
  readGreetingBody,
  readReplicaBody,
  readStateBody,
  readVoicemailBody,
  signedBody,
  signedFacts,
  splitMail,
} from './sync-mail.ts';

export interface SyncInboxDeps {
  peers: PeerSet;
  messages: Pick<MessageService, 'deposit' | 'applyPeerState'>;
  log: Logger;
  now?: () => number;
  /** On a backup: the central's messages are kept here too (it sends them when syncMessages). */
  keepsCentralCopies?: boolean;
  /** On a backup or distributed server: the central's replication is applied here. */
  replica?: ReplicaReceiverDeps;
  /** On the central: greetings its backup changed while live, handed back. */
  greetings?: Pick<MessageService, 'applyPeerGreeting'>;
  /** On a backup: a verified mail ping from its central (its watch counts it as a sign of life). */
  onPing?: (peer: string) => void;
}

/** A refusal the sending peer may overcome by fixing its set-up: it keeps its mail and retries. */
const untrusted = (why: string): VoicegateError =>
  new VoicegateError('AUTH_FAILED', `sync mail refused: ${why}`);

/**
 * The sync addresses of this server: mail there is taken only from a configured peer, over TLS
 * unless that peer may go without, and with a valid signature; a voicemail from a distributed
 * server is then deposited under its identity (stored once however often it comes).
 */
export function buildSyncInbox(deps: SyncInboxDeps): SyncInbox {
  const nonces = new NonceMemory();
  const now = deps.now ?? Date.now;
  const secretOf = (name: string): string | null => deps.peers.get(name)?.secret ?? null;
  const receiver = deps.replica ? new ReplicaReceiver(deps.replica, deps.log) : null;
  return {
    checkRecipient(to, session) {
      if (!session.secure && !deps.peers.anyPlainText())
        throw new VoicegateError('UNAUTHENTICATED', 'sync mail needs TLS: issue STARTTLS first');
      // Voicemail comes to the central only; a server that is not one has no master address.
      if (to === 'vmsyncmaster' && deps.peers.central())
        throw new VoicegateError(
          'FORBIDDEN',
          'this server is not the central: send sync mail there',
        );
    },

    async receive(raw, to, session) {
      const { headers, body } = splitMail(raw);
      const { facts, signature } = signedFacts(headers, to);
      try {
        verifySync(facts, signature, signedBody(body), secretOf, nonces, now());
      } catch (err) {
        throw untrusted((err as Error).message.replace(/^sync mail refused: /, ''));
      }
      const peer = deps.peers.get(facts.peer)!;
      if (!session.secure && !peer.plainText)
        throw untrusted(`${peer.name} must send over TLS (its entry does not say plainText)`);
      if (facts.kind === 'replica') {
        if (to !== 'vmsyncslave' || peer.role !== 'central' || !receiver)
          throw new VoicegateError(
            'FORBIDDEN',
            `sync mail refused: ${peer.name} keeps nothing in step here`,
          );
        const { change, audio } = readReplicaBody(headers.get('content-type') ?? '', body);
        return receiver.receive(peer.name, change, audio);
      }
      if (facts.kind === 'state') return applyState(deps, peer, to, facts.messageId, body);
      if (facts.kind === 'greeting') {
        if (to !== 'vmsyncmaster' || peer.role !== 'backup' || !deps.greetings)
          throw new VoicegateError(
            'FORBIDDEN',
            `sync mail refused: ${peer.name} hands back no greetings here`,
          );
        const { facts: g, audio } = readGreetingBody(headers.get('content-type') ?? '', body);
        if (g.server !== peer.name)
          throw new VoicegateError(
            'INVALID_INPUT',
            `sync mail refused: ${peer.name} sends a greeting changed by ${g.server}`,
          );
        const outcome = await deps.greetings.applyPeerGreeting(g, audio);
        deps.log.info(
          { peer: peer.name, mailbox: g.mailbox, kind: g.kind, changedAt: g.changedAt, outcome },
          'sync greeting merged',
        );
        return `greeting ${g.kind} of ${g.mailbox} ${outcome}`;
      }
      if (facts.kind === 'ping') {
        if (to !== 'vmsyncslave' || peer.role !== 'central' || !deps.onPing)
          throw new VoicegateError(
            'FORBIDDEN',
            `sync mail refused: ${peer.name} is not the central this backup watches`,
          );
        deps.onPing(peer.name);
        deps.log.debug({ peer: peer.name, remote: session.remote }, 'sync mail ping taken');
        return `ping from ${peer.name} taken`;
      }
      // A backup keeps the central's messages too (topology.syncMessages on the central).
      const copy = to === 'vmsyncslave' && peer.role === 'central' && deps.keepsCentralCopies;
      if (
        !copy &&
        (to !== 'vmsyncmaster' || (peer.role !== 'distributed' && peer.role !== 'backup'))
      )
        throw new VoicegateError(
          'FORBIDDEN',
          `sync mail refused: ${peer.name} sends no voicemail here`,
        );
      const { facts: vm, audio } = readVoicemailBody(headers.get('content-type') ?? '', body);
      const stored = await deps.messages
        .deposit({
          mailbox: vm.mailbox,
          audio,
          identity: facts.messageId,
          callerNumber: vm.callerNumber,
          callerName: vm.callerName,
          receivedAt: vm.receivedAt,
          priority: vm.priority === 'high' ? 'high' : 'normal',
          private: vm.private === true,
          originServer: peer.name,
          mailed: vm.mailed === true,
          ...(copy ? { copyOfCentral: true } : {}),
        })
        .catch((err: unknown) => {
          // Its mailbox not here yet: replication is behind; the central sends it again later.
          if (copy && err instanceof VoicegateError && err.code === 'NOT_FOUND')
            throw new VoicegateError('UNAVAILABLE', `${err.message}: not here yet, try later`);
          throw err;
        });
      deps.log.info(
        {
          peer: peer.name,
          remote: session.remote,
          identity: facts.messageId,
          mailbox: vm.mailbox,
          messages: stored.map((m) => m.id),
        },
        'sync voicemail stored',
      );
      return `voicemail ${facts.messageId} stored`;
    },
  };
}

/**
 * A state change a peer made to a voicemail while it was live (a backup handing back, or the
 * central to a backup keeping its messages): merged through the domain (`mergeState`), so the
 * lamps follow. A voicemail not here (purged) is taken and nothing changes.
 */
async function applyState(
  deps: SyncInboxDeps,
  peer: Peer,
  to: string,
  identity: string,
  body: Buffer,
): Promise<string> {
  const fromBackup = to === 'vmsyncmaster' && peer.role === 'backup';
  const fromCentral = to === 'vmsyncslave' && peer.role === 'central' && deps.keepsCentralCopies;
  if (!fromBackup && !fromCentral)
    throw new VoicegateError(
      'FORBIDDEN',
      `sync mail refused: ${peer.name} sends no state changes here`,
    );
  const facts = readStateBody(body);
  if (facts.server !== peer.name)
    throw new VoicegateError(
      'INVALID_INPUT',
      `sync mail refused: ${peer.name} sends a change made by ${facts.server}`,
    );
  // Only the central removes a voicemail for good: a backup's delete is merged as a delete
  // (never lost, and undone only by an undelete), never a purge of the central's message.
  if (fromBackup && facts.purged === true)
    throw new VoicegateError(
      'FORBIDDEN',
      `sync mail refused: ${peer.name} is a backup and cannot purge ${identity}`,
    );
  const { mailbox, ...state } = facts;
  const outcome = await deps.messages.applyPeerState(mailbox, identity, state);
  deps.log.info(
    { peer: peer.name, identity, mailbox, state: state.state, changedAt: state.changedAt, outcome },
    'sync state change merged',
  );
  return `state of ${identity} ${outcome}`;
}
