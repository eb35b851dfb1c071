/**
 * The replicated state of this server read from the store, and changes from the central applied
 * to it, through the store's ports (the rules of what each item means are `replica.ts`'s). Both
 * sides read their state with the same function, so their digests compare.
 */
import type { DomainDeps } from './deps.ts';
import { VoicegateError, isVoicegateError } from './errors.ts';
import type { GreetingKind, MailboxRecord } from './mailbox.ts';
import type { NewMailbox } from './ports.ts';
import {
  audioHash,
  hashesOf,
  itemOf,
  replicaDigest,
  type ReplicaContent,
  type ReplicaItem,
  type ReplicaKind,
  type ReplicaOp,
} from './replica.ts';
import { settingsOf, type ExportedMailbox } from './settings-transfer.ts';

/** The call flows file, read and written by the adapter that knows where it is. */
export interface FlowsFile {
  read(): Promise<string | null>;
  /** Writes it whole (null removes it). */
  write(text: string | null): Promise<void>;
}

function exported(m: MailboxRecord): ExportedMailbox {
  return { ...settingsOf(m), codeHash: m.codeHash, sip: m.sip } as ExportedMailbox;
}

export class ReplicaService {
  readonly #deps: DomainDeps;
  /** Audio keys are never rewritten, so each one's hash is computed once. */
  readonly #hashes = new Map<string, string>();

  constructor(deps: DomainDeps) {
    this.#deps = deps;
  }

  /**
   * The items of `kinds` this server holds now, and where each greeting's audio is (by hash).
   * Mailboxes are all of them: which a peer takes is the caller's choice (`only`).
   */
  async items(
    kinds: readonly ReplicaKind[],
    flows: FlowsFile | null,
    only: (mailbox: string) => boolean = () => true,
  ): Promise<{ items: ReplicaItem[]; audio: Map<string, string> }> {
    const { store, audio } = this.#deps;
    const want = new Set(kinds);
    const records = (await store.listMailboxes()).filter((m) => only(m.name));
    const names = new Map(records.map((m) => [m.id, m.name]));
    const contents: ReplicaContent[] = [];
    const audioBySha = new Map<string, string>();
    for (const m of records) {
      if (want.has('mailbox')) contents.push({ kind: 'mailbox', mailbox: exported(m) });
      if (want.has('members') && m.kind === 'group') {
        const members = (await store.groupMembers(m.id))
          .map((id) => names.get(id))
          .filter((n): n is string => n !== undefined)
          .sort();
        contents.push({ kind: 'members', group: m.name, members });
      }
      if (!want.has('greeting')) continue;
      for (const g of await store.listGreetings(m.id)) {
        let sha = this.#hashes.get(g.audio.key);
        if (!sha) {
          sha = audioHash(await audio.read(g.audio.key));
          this.#hashes.set(g.audio.key, sha);
        }
        audioBySha.set(sha, g.audio.key);
        contents.push({ kind: 'greeting', mailbox: m.name, greeting: g.kind, sha256: sha });
      }
    }
    if (want.has('flows') && flows) {
      const text = await flows.read();
      if (text !== null) contents.push({ kind: 'flows', text });
    }
    return { items: contents.map(itemOf), audio: audioBySha };
  }

  /** The digest of the items of `kinds` here (of the mailboxes `only` takes). */
  async digest(
    kinds: readonly ReplicaKind[],
    flows: FlowsFile | null,
    only?: (mailbox: string) => boolean,
  ): Promise<string> {
    return replicaDigest(hashesOf((await this.items(kinds, flows, only)).items));
  }

  /**
   * Applies a change's steps in order. Each step is idempotent (a put sets, a removal of what is
   * gone does nothing), so a change applied in part before a crash is applied again whole.
   * `keep` is the set of every key the sender holds (the end of a snapshot): what this server
   * holds of `kinds` beyond it is removed.
   */
  async apply(
    ops: readonly ReplicaOp[],
    audioOf: (sha256: string) => Uint8Array | undefined,
    flows: FlowsFile | null,
    end?: { keep: readonly string[]; kinds: readonly ReplicaKind[] },
  ): Promise<void> {
    for (const op of ops) await this.#step(op, audioOf, flows);
    if (!end) return;
    const keep = new Set(end.keep);
    const { items } = await this.items(end.kinds, flows);
    const extra = items.filter((i) => !keep.has(i.key)).reverse();
    for (const i of extra) await this.#step({ op: 'remove', key: i.key }, audioOf, flows);
  }

  async #step(
    op: ReplicaOp,
    audioOf: (sha256: string) => Uint8Array | undefined,
    flows: FlowsFile | null,
  ): Promise<void> {
    const [kind, name, greeting] = op.key.split('/') as [ReplicaKind, string, string];
    if (op.op === 'remove') return this.#remove(kind, name, greeting, flows);
    const c = op.content;
    switch (c.kind) {
      case 'mailbox':
        return this.#putMailbox(c.mailbox);
      case 'members':
        return this.#putMembers(c.group, c.members);
      case 'greeting': {
        const bytes = audioOf(c.sha256);
        if (!bytes || audioHash(bytes) !== c.sha256)
          throw new VoicegateError('INVALID_INPUT', `${op.key}: its audio is not in the change`);
        return this.#putGreeting(c.mailbox, c.greeting, bytes);
      }
      case 'flows':
        return flows?.write(c.text);
    }
  }

  async #exact(name: string): Promise<MailboxRecord | null> {
    const m = await this.#deps.store.findMailbox(name);
    return m && m.name === name ? m : null;
  }

  async #putMailbox(m: ExportedMailbox): Promise<void> {
    const { store, audio } = this.#deps;
    // The extension may be another mailbox's here still (the two swapped): it gives it up.
    if (m.extension) {
      const holder = await store.findMailbox(m.extension);
      if (holder && holder.name !== m.name && holder.extension === m.extension)
        await store.updateMailbox(holder.id, { extension: null });
    }
    const had = await this.#exact(m.name);
    const { kind, codeHash, sip, members: _m, ...settings } = m;
    if (had && had.kind !== kind) await audio.remove(await store.removeMailbox(had.id));
    else if (had) {
      const { name: _n, ...changes } = settings;
      await store.updateMailbox(had.id, changes);
      if (codeHash && codeHash !== had.codeHash) await store.setCodeHash(had.id, codeHash);
      if (sip !== undefined) await store.setSipCredentials(had.id, sip);
      return;
    }
    const created = await store.createMailbox({
      ...settings,
      kind,
      codeHash: codeHash ?? '',
    } as NewMailbox);
    if (sip) await store.setSipCredentials(created.id, sip);
  }

  async #putMembers(group: string, members: readonly string[]): Promise<void> {
    const { store } = this.#deps;
    const g = await this.#exact(group);
    if (!g) throw new VoicegateError('INVALID_STATE', `members of ${group}: no such group here`);
    const ids: number[] = [];
    for (const name of members) {
      const m = await this.#exact(name);
      if (m) ids.push(m.id);
    }
    await store.setGroupMembers(g.id, ids);
  }

  async #putGreeting(mailbox: string, kind: GreetingKind, bytes: Uint8Array): Promise<void> {
    const { store, audio, inspectAudio } = this.#deps;
    const m = await this.#exact(mailbox);
    if (!m) throw new VoicegateError('INVALID_STATE', `greeting of ${mailbox}: no such mailbox`);
    const info = inspectAudio(bytes);
    const key = await audio.put(bytes);
    const ref = { key, format: info.format, bytes: bytes.byteLength, durationMs: info.durationMs };
    this.#hashes.set(key, audioHash(bytes));
    await audio.remove(await store.setGreeting(m.id, kind, ref, this.#deps.now?.() ?? Date.now()));
  }

  async #remove(
    kind: ReplicaKind,
    name: string,
    greeting: string,
    flows: FlowsFile | null,
  ): Promise<void> {
    const { store, audio } = this.#deps;
    if (kind === 'flows') return flows?.write(null);
    const m = await this.#exact(name);
    if (!m) return;
    if (kind === 'mailbox') return audio.remove(await store.removeMailbox(m.id));
    if (kind === 'members') return store.setGroupMembers(m.id, []);
    try {
      await audio.remove(
        await store.removeGreeting(
          m.id,
          greeting as GreetingKind,
          this.#deps.now?.() ?? Date.now(),
        ),
      );
    } catch (err) {
      if (!isVoicegateError(err) || err.code !== 'NOT_FOUND') throw err;
    }
  }
}
