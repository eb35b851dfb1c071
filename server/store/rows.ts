import type { MailboxRecord } from '../domain/mailbox.ts';
import type { Change, Greeting, Message } from '../domain/message.ts';
import type {
  Delivery,
  NewDelivery,
  NewNotice,
  Notice,
  QueueItem,
  QueueState,
} from '../domain/delivery.ts';

/** SQLite rows and their mapping to domain objects: the one place that knows column names. */
export interface MailboxRow {
  id: number;
  kind: string;
  name: string;
  extension: string | null;
  full_name: string;
  code_hash: string;
  email: string | null;
  email_mode: string;
  ums_access: number;
  locale: string;
  time_zone: string;
  trusted_numbers: string;
  breakouts: string;
  broadcast: number;
  active_greeting: string;
  failed_logins: number;
  locked_until: number | null;
  created_at: number;
  sip_realm: string | null;
  sip_ha1_md5: string | null;
  sip_ha1_sha256: string | null;
}

export function rowToMailbox(r: MailboxRow): MailboxRecord {
  return {
    id: r.id,
    kind: r.kind as MailboxRecord['kind'],
    name: r.name,
    extension: r.extension,
    fullName: r.full_name,
    email: r.email,
    emailMode: r.email_mode as MailboxRecord['emailMode'],
    umsAccess: r.ums_access === 1,
    locale: r.locale,
    timeZone: r.time_zone,
    trustedNumbers: JSON.parse(r.trusted_numbers) as string[],
    breakouts: JSON.parse(r.breakouts) as MailboxRecord['breakouts'],
    broadcast: r.broadcast === 1,
    activeGreeting: r.active_greeting as MailboxRecord['activeGreeting'],
    createdAt: r.created_at,
    codeHash: r.code_hash,
    failedLogins: r.failed_logins,
    lockedUntil: r.locked_until,
    sip:
      r.sip_realm !== null && r.sip_ha1_md5 !== null && r.sip_ha1_sha256 !== null
        ? { realm: r.sip_realm, ha1Md5: r.sip_ha1_md5, ha1Sha256: r.sip_ha1_sha256 }
        : null,
  };
}

export interface MessageRow {
  id: string;
  identity: string;
  mailbox_id: number;
  kind: string;
  caller_number: string | null;
  caller_name: string | null;
  received_at: number;
  audio_key: string;
  audio_format: string;
  audio_bytes: number;
  duration_ms: number;
  state: string;
  deleted_from: string | null;
  state_changed_at: number;
  priority: string;
  private: number;
  origin_server: string;
  forwarded_from: string | null;
  modseq: number;
  folder: string;
  uid: number;
  purge_mark: number;
  email_error: string | null;
}

export function rowToMessage(r: MessageRow): Message {
  return {
    id: r.id,
    identity: r.identity,
    mailboxId: r.mailbox_id,
    kind: r.kind as Message['kind'],
    callerNumber: r.caller_number,
    callerName: r.caller_name,
    receivedAt: r.received_at,
    audio: {
      key: r.audio_key,
      format: r.audio_format,
      bytes: r.audio_bytes,
      durationMs: r.duration_ms,
    },
    state: r.state as Message['state'],
    deletedFrom: r.deleted_from as Message['deletedFrom'],
    stateChangedAt: r.state_changed_at,
    priority: r.priority as Message['priority'],
    private: r.private === 1,
    originServer: r.origin_server,
    forwardedFrom: r.forwarded_from,
    modseq: r.modseq,
    folder: r.folder as Message['folder'],
    uid: r.uid,
    markedForPurge: r.purge_mark === 1,
    emailError: r.email_error,
  };
}

export interface GreetingRow {
  mailbox_id: number;
  kind: string;
  audio_key: string;
  audio_format: string;
  audio_bytes: number;
  duration_ms: number;
  updated_at: number;
}

export function rowToGreeting(r: GreetingRow): Greeting {
  return {
    mailboxId: r.mailbox_id,
    kind: r.kind as Greeting['kind'],
    audio: {
      key: r.audio_key,
      format: r.audio_format,
      bytes: r.audio_bytes,
      durationMs: r.duration_ms,
    },
    updatedAt: r.updated_at,
  };
}

export interface ChangeRow {
  seq: number;
  mailbox_id: number;
  modseq: number;
  kind: string;
  message_id: string | null;
  state: string | null;
  folder: string | null;
  uid: number | null;
  at: number;
}

export function rowToChange(r: ChangeRow): Change {
  return {
    seq: r.seq,
    mailboxId: r.mailbox_id,
    modseq: r.modseq,
    kind: r.kind as Change['kind'],
    messageId: r.message_id,
    state: r.state as Change['state'],
    folder: r.folder as Change['folder'],
    uid: r.uid,
    at: r.at,
  };
}

export interface DeliveryRow {
  id: number;
  target: string;
  kind: string;
  /** The voicemail's columns are null for a notice. */
  mailbox_id: number | null;
  recipient: string;
  payload: string | null;
  voicemail_id: string | null;
  identity: string | null;
  message_id: string | null;
  caller_number: string | null;
  caller_name: string | null;
  received_at: number | null;
  audio_key: string | null;
  audio_format: string | null;
  audio_bytes: number | null;
  duration_ms: number | null;
  priority: string | null;
  private: number | null;
  status: string;
  attempts: number;
  next_attempt_at: number;
  last_error: string | null;
  created_at: number;
  lease_holder: string | null;
  lease_until: number | null;
}

/** The columns an INSERT of a queue item names, in the order `deliveryValues` gives them. */
export const DELIVERY_COLUMNS = `target, kind, mailbox_id, recipient, payload, voicemail_id, identity,
  message_id, caller_number, caller_name, received_at, audio_key, audio_format, audio_bytes,
  duration_ms, priority, private`;

/** A queue item's values for DELIVERY_COLUMNS: a notice has its text as payload, no voicemail. */
export function deliveryValues(d: NewDelivery | NewNotice): (string | number | null)[] {
  if (d.kind === 'notice') {
    const payload = JSON.stringify({ subject: d.notice.subject, text: d.notice.text });
    return [d.target, d.kind, null, d.recipient, payload, ...Array<null>(12).fill(null)];
  }
  return [
    d.target,
    d.kind,
    d.mailboxId,
    d.recipient,
    d.payload ? JSON.stringify(d.payload) : null,
    d.voicemailId,
    d.identity,
    d.messageId,
    d.callerNumber,
    d.callerName,
    d.receivedAt,
    d.audio.key,
    d.audio.format,
    d.audio.bytes,
    d.audio.durationMs,
    d.priority,
    d.private ? 1 : 0,
  ];
}

export function rowToDelivery(r: DeliveryRow): QueueItem {
  const state: QueueState = {
    id: r.id,
    status: r.status as QueueState['status'],
    attempts: r.attempts,
    nextAttemptAt: r.next_attempt_at,
    lastError: r.last_error,
    createdAt: r.created_at,
    lease:
      r.lease_holder !== null && r.lease_until !== null
        ? { holder: r.lease_holder, until: r.lease_until }
        : null,
  };
  if (r.kind === 'notice')
    return {
      ...state,
      target: 'smtp',
      kind: 'notice',
      recipient: r.recipient,
      notice: JSON.parse(r.payload ?? '{}') as Notice,
    };
  return {
    ...state,
    target: r.target as Delivery['target'],
    kind: r.kind as Delivery['kind'],
    mailboxId: r.mailbox_id!,
    recipient: r.recipient,
    payload: r.payload === null ? null : (JSON.parse(r.payload) as Delivery['payload']),
    voicemailId: r.voicemail_id!,
    identity: r.identity!,
    messageId: r.message_id,
    callerNumber: r.caller_number,
    callerName: r.caller_name,
    receivedAt: r.received_at!,
    audio: {
      key: r.audio_key!,
      format: r.audio_format!,
      bytes: r.audio_bytes!,
      durationMs: r.duration_ms!,
    },
    priority: r.priority as Delivery['priority'],
    private: r.private === 1,
  };
}
