/**
 * An installation's settings moved between servers: mailboxes with their settings, hunt group
 * members and greetings (recorded names included). `exportSettings` reads them; `planImport`
 * checks an incoming set whole and says what it would change; `applyImport` applies it all or
 * nothing. The archive around it (files, checksums, the config and flows files) is not the
 * domain's: see server/backup/config-archive.ts.
 */
import { randomBytes } from 'node:crypto';
import { hashCode } from './code-hash.ts';
import type { DomainDeps } from './deps.ts';
import type { NewMailbox } from './ports.ts';
import { checkEmailSettings } from './email-settings.ts';
import { VoicegateError } from './errors.ts';
import {
  GREETING_KINDS,
  MAILBOX_KINDS,
  normalizeMailboxChanges,
  oneOf,
  type GreetingKind,
  type Mailbox,
  type MailboxRecord,
  type SipCredentials,
} from './mailbox.ts';

export interface ExportedMailbox extends Omit<Mailbox, 'id' | 'createdAt'> {
  /** Only in an export with secrets. */
  codeHash?: string;
  sip?: SipCredentials | null;
  /** Hunt groups: their members' names. */
  members?: string[];
}

export interface ExportedGreeting {
  mailbox: string;
  kind: GreetingKind;
  /** The audio's file in the archive. */
  file: string;
}

export interface SettingsSet {
  mailboxes: ExportedMailbox[];
  greetings: ExportedGreeting[];
}

/** One change an import makes, for the dry run and the log. */
export interface PlannedChange {
  action: 'add' | 'update' | 'unchanged';
  what: string;
  detail?: string;
}

type Files = {
  put(name: string, bytes: Uint8Array): Promise<void>;
  get(name: string): Promise<Uint8Array>;
};

/** A mailbox's settings as exported, replicated and compared (its name, code and SIP aside). */
export const MAILBOX_SETTINGS = [
  'kind',
  'extension',
  'fullName',
  'email',
  'emailMode',
  'umsAccess',
  'locale',
  'timeZone',
  'trustedNumbers',
  'breakouts',
  'broadcast',
  'activeGreeting',
] as const;

export function settingsOf(
  m: MailboxRecord,
): Omit<ExportedMailbox, 'codeHash' | 'sip' | 'members'> {
  const out: Record<string, unknown> = { name: m.name };
  for (const f of MAILBOX_SETTINGS) out[f] = m[f];
  return out as Omit<ExportedMailbox, 'codeHash' | 'sip' | 'members'>;
}

const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

export class SettingsTransfer {
  readonly #deps: DomainDeps;
  constructor(deps: DomainDeps) {
    this.#deps = deps;
  }

  async exportSettings(
    opts: { withSecrets: boolean },
    files: Pick<Files, 'put'>,
  ): Promise<SettingsSet> {
    const { store, audio } = this.#deps;
    const records = await store.listMailboxes();
    const byId = new Map(records.map((m) => [m.id, m.name]));
    const mailboxes: ExportedMailbox[] = [];
    const greetings: ExportedGreeting[] = [];
    for (const m of records) {
      const out: ExportedMailbox = settingsOf(m);
      if (opts.withSecrets) Object.assign(out, { codeHash: m.codeHash, sip: m.sip });
      if (m.kind === 'group')
        out.members = (await store.groupMembers(m.id)).map((id) => byId.get(id)!);
      mailboxes.push(out);
      for (const g of await store.listGreetings(m.id)) {
        const file = `greetings/${mailboxes.length}-${g.kind}.wav`;
        await files.put(file, await audio.read(g.audio.key));
        greetings.push({ mailbox: m.name, kind: g.kind, file });
      }
    }
    return { mailboxes, greetings };
  }

  /** Checks the set whole (every field, every audio, names and extensions unique) and plans it. */
  async planImport(set: SettingsSet, files: Pick<Files, 'get'>): Promise<PlannedChange[]> {
    const { store, inspectAudio } = this.#deps;
    if (!Array.isArray(set?.mailboxes) || !Array.isArray(set.greetings))
      throw new VoicegateError('INVALID_INPUT', 'the settings lack their mailboxes or greetings');
    const current = new Map((await store.listMailboxes()).map((m) => [m.name, m]));
    const names = new Set<string>();
    const extensions = new Map<string, string>();
    for (const m of current.values()) if (m.extension) extensions.set(m.extension, m.name);
    const changes: PlannedChange[] = [];
    for (const raw of set.mailboxes) {
      const what = `mailbox ${JSON.stringify(raw?.name)}`;
      try {
        oneOf(MAILBOX_KINDS, raw.kind, 'mailbox kind');
        const m = { ...raw, ...normalizeMailboxChanges(raw) } as ExportedMailbox;
        checkEmailSettings(m);
        if (names.has(m.name)) throw new VoicegateError('INVALID_INPUT', 'listed twice');
        names.add(m.name);
        if (m.extension) {
          const holder = extensions.get(m.extension);
          if (holder !== undefined && holder !== m.name)
            throw new VoicegateError('INVALID_INPUT', `extension ${m.extension} is ${holder}'s`);
          extensions.set(m.extension, m.name);
        }
        if (m.codeHash !== undefined && !/^scrypt\$/.test(m.codeHash))
          throw new VoicegateError('INVALID_INPUT', 'its code hash is not one this server reads');
        const had = current.get(m.name);
        if (!had) {
          changes.push({
            action: 'add',
            what,
            detail: m.codeHash ? undefined : 'no code in the export: set one with mailbox set-code',
          });
          continue;
        }
        if (had.kind !== m.kind)
          throw new VoicegateError('INVALID_INPUT', `is a ${had.kind} here, a ${m.kind} there`);
        const differ = MAILBOX_SETTINGS.filter((f) => !same(had[f], m[f]));
        if (m.codeHash && m.codeHash !== had.codeHash) differ.push('code' as never);
        changes.push(
          differ.length
            ? { action: 'update', what, detail: differ.join(', ') }
            : { action: 'unchanged', what },
        );
      } catch (err) {
        throw new VoicegateError('INVALID_INPUT', `${what}: ${(err as Error).message}`);
      }
    }
    for (const m of set.mailboxes)
      for (const member of m.members ?? [])
        if (!names.has(member) && !current.has(member))
          throw new VoicegateError('INVALID_INPUT', `group ${m.name}: no mailbox ${member}`);
    for (const g of set.greetings) {
      const what = `${g?.mailbox}'s ${g?.kind} greeting`;
      if (!names.has(g.mailbox))
        throw new VoicegateError('INVALID_INPUT', `${what}: no such mailbox in the export`);
      oneOf(GREETING_KINDS, g.kind, 'greeting kind');
      try {
        inspectAudio(await files.get(g.file));
      } catch (err) {
        throw new VoicegateError('INVALID_INPUT', `${what}: ${(err as Error).message}`);
      }
      changes.push({ action: 'update', what });
    }
    return changes;
  }

  /**
   * Applies a set `planImport` accepted. Should anything fail on the way, what was done is undone
   * (mailboxes added removed, those changed and greetings replaced put back), so the store holds
   * either the whole import or none of it.
   */
  async applyImport(set: SettingsSet, files: Pick<Files, 'get'>): Promise<void> {
    const { store, audio } = this.#deps;
    const now = this.#deps.now?.() ?? Date.now();
    const undo: (() => Promise<unknown>)[] = [];
    const laterRemove: string[] = [];
    try {
      const ids = new Map<string, number>();
      for (const m of set.mailboxes) {
        const fields = {
          ...settingsOf({ ...(m as unknown as MailboxRecord) }),
          ...normalizeMailboxChanges(m),
        };
        const had = await store.findMailbox(m.name);
        if (had && had.name === m.name) {
          const { kind: _was, ...before } = settingsOf(had);
          const { kind: _is, ...changes } = fields;
          await store.updateMailbox(had.id, changes);
          undo.push(() => store.updateMailbox(had.id, before));
          if (m.codeHash) {
            await store.setCodeHash(had.id, m.codeHash);
            undo.push(() => store.setCodeHash(had.id, had.codeHash));
          }
          if (m.sip !== undefined) {
            await store.setSipCredentials(had.id, m.sip);
            undo.push(() => store.setSipCredentials(had.id, had.sip));
          }
          ids.set(m.name, had.id);
        } else {
          // No code in the export: one nobody knows, until the administrator sets it.
          const codeHash =
            m.codeHash ?? (await hashCode(randomBytes(16).toString('hex'), this.#deps.scryptCost));
          const created = await store.createMailbox({ ...fields, codeHash } as NewMailbox);
          undo.push(() => store.removeMailbox(created.id));
          if (m.sip) await store.setSipCredentials(created.id, m.sip);
          ids.set(m.name, created.id);
        }
      }
      for (const m of set.mailboxes) {
        if (!m.members) continue;
        const group = ids.get(m.name)!;
        const before = await store.groupMembers(group);
        const members: number[] = [];
        for (const name of m.members)
          members.push(ids.get(name) ?? (await store.findMailbox(name))!.id);
        await store.setGroupMembers(group, members);
        undo.push(() => store.setGroupMembers(group, before));
      }
      for (const g of set.greetings) {
        const bytes = await files.get(g.file);
        const info = this.#deps.inspectAudio(bytes);
        const key = await audio.put(bytes);
        const mailboxId = ids.get(g.mailbox)!;
        const old = (await store.listGreetings(mailboxId)).find((x) => x.kind === g.kind);
        const ref = {
          key,
          format: info.format,
          bytes: bytes.byteLength,
          durationMs: info.durationMs,
        };
        const replaced = await store.setGreeting(mailboxId, g.kind, ref, now);
        // The replaced audio is removed only once everything succeeded: undo may need it.
        laterRemove.push(...replaced);
        undo.push(async () => {
          const dropped = old
            ? await store.setGreeting(mailboxId, g.kind, old.audio, now)
            : await store.removeGreeting(mailboxId, g.kind, now);
          await audio.remove(dropped);
        });
      }
    } catch (err) {
      for (const step of undo.reverse()) await step().catch(() => {});
      throw err;
    }
    await audio.remove(laterRemove);
  }
}
