import { randomBytes } from 'node:crypto';
import { VoicegateError } from '../domain/errors.ts';
import { SYNC_HEADERS, type SignedFacts, type SyncKind } from '../domain/peer-trust.ts';
import type { Priority } from '../domain/message.ts';
import type { ReplicaChange } from '../domain/replica.ts';
import { checkPeerState, type PeerState } from '../domain/state-merge.ts';
import { checkPeerGreeting, type PeerGreeting } from '../domain/greeting-merge.ts';

/**
 * A sync mail on the wire: an ordinary MIME message, so it crosses the relays and firewalls
 * mail does, with the signing headers of `server/domain/peer-trust.ts`. A voicemail's facts go
 * as a JSON part and its audio as a WAV attachment; its identity is the Message-ID.
 */

/** What a voicemail sync mail says beyond its identity and audio. */
export interface VoicemailFacts {
  /** The mailbox's name at the receiving server. */
  mailbox: string;
  callerNumber: string | null;
  callerName: string | null;
  /** When it was recorded (ms since 1970): the receiver keeps it as the message's time. */
  receivedAt: number;
  priority: Priority;
  private: boolean;
  /**
   * The sender sent its e-mail and alerts already (a backup handing back what it recorded
   * while live): the receiver keeps the message and mails nothing.
   */
  mailed?: boolean;
}

const CRLF = '\r\n';

/** The bytes a signature covers: the body, without the line ends it may end with. */
export function signedBody(body: Uint8Array): Uint8Array {
  let end = body.length;
  while (end > 0 && (body[end - 1] === 0x0a || body[end - 1] === 0x0d)) end--;
  return body.subarray(0, end);
}

/** The MIME body of a voicemail sync mail, and its Content-Type. */
export function voicemailBody(
  facts: VoicemailFacts,
  audio: Uint8Array,
): { body: Buffer; contentType: string } {
  return jsonAndWav(facts, audio);
}

/** The MIME body of a greeting sync mail (a live backup's greeting, handed back). */
export function greetingBody(
  facts: PeerGreeting,
  audio: Uint8Array,
): { body: Buffer; contentType: string } {
  return jsonAndWav(facts, audio);
}

/** A greeting removed on the peer: its facts alone, as JSON. */
export function greetingRemovedBody(facts: PeerGreeting): { body: Buffer; contentType: string } {
  return {
    body: Buffer.from(JSON.stringify({ ...facts, removed: true }) + CRLF),
    contentType: 'application/json; charset=utf-8',
  };
}

/**
 * The facts and audio of a greeting sync mail's body, checked: a greeting set comes with its
 * WAV (`greetingBody`), a removal as its facts alone (`greetingRemovedBody`, audio null).
 */
export function readGreetingBody(
  contentType: string,
  body: Buffer,
): { facts: PeerGreeting; audio: Buffer | null } {
  if (/^application\/json\b/i.test(contentType)) {
    let json: unknown;
    try {
      json = JSON.parse(body.toString('utf8'));
    } catch {
      throw bad('its greeting change is not JSON');
    }
    const facts = checkPeerGreeting(json);
    if (!facts.removed) throw bad('a greeting set comes with its audio');
    return { facts, audio: null };
  }
  const { json, audio } = readJsonAndWav(contentType, body);
  const facts = checkPeerGreeting(json);
  if (facts.removed) throw bad('a greeting removed comes without audio');
  return { facts, audio };
}

/** A JSON part then a WAV attachment. */
function jsonAndWav(facts: object, audio: Uint8Array): { body: Buffer; contentType: string } {
  const boundary = `vg-${randomBytes(12).toString('hex')}`;
  const b64 = Buffer.from(audio.buffer, audio.byteOffset, audio.byteLength)
    .toString('base64')
    .replace(/.{1,76}/g, (line) => line + CRLF);
  const body = [
    `--${boundary}`,
    'Content-Type: application/json; charset=utf-8',
    '',
    JSON.stringify(facts),
    `--${boundary}`,
    'Content-Type: audio/wav',
    'Content-Transfer-Encoding: base64',
    'Content-Disposition: attachment; filename="voicemail.wav"',
    '',
    b64 + `--${boundary}--`,
    '',
  ].join(CRLF);
  return { body: Buffer.from(body), contentType: `multipart/mixed; boundary="${boundary}"` };
}

/** The whole mail: headers (the signature among them) and body. */
export function syncMail(
  facts: SignedFacts & { from: string; toAddress: string },
  signature: string,
  contentType: string,
  body: Buffer,
): Buffer {
  const head = [
    `From: <${facts.from}>`,
    `To: <${facts.toAddress}>`,
    `Date: ${new Date(facts.timestamp).toUTCString()}`,
    `Message-ID: <${facts.messageId}>`,
    `Subject: Voicegate sync (${facts.kind})`,
    'MIME-Version: 1.0',
    `X-Voicegate-Peer: ${facts.peer}`,
    `X-Voicegate-Sync: ${facts.kind}`,
    `X-Voicegate-Timestamp: ${facts.timestamp}`,
    `X-Voicegate-Nonce: ${facts.nonce}`,
    `X-Voicegate-Signature: ${signature}`,
    `Content-Type: ${contentType}`,
  ].join(CRLF);
  return Buffer.concat([Buffer.from(head + CRLF + CRLF), body]);
}

const bad = (why: string): VoicegateError =>
  new VoicegateError('INVALID_INPUT', `not a sync mail: ${why}`);

/** A received mail split into its headers (lower-case names, unfolded) and body. */
export function splitMail(raw: Buffer): { headers: Map<string, string>; body: Buffer } {
  const end = raw.indexOf('\r\n\r\n');
  if (end < 0) throw bad('no end of header');
  const headers = new Map<string, string>();
  const text = raw
    .subarray(0, end)
    .toString('latin1')
    .replace(/\r\n[ \t]+/g, ' ');
  for (const line of text.split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    if (!headers.has(name)) headers.set(name, line.slice(colon + 1).trim());
  }
  return { headers, body: raw.subarray(end + 4) };
}

/** The signed facts a mail's headers state (checked by `verifySync`). */
export function signedFacts(
  headers: Map<string, string>,
  to: string,
): { facts: SignedFacts; signature: string } {
  const need = (name: string): string => {
    const value = headers.get(name);
    if (!value) throw new VoicegateError('AUTH_FAILED', `sync mail refused: no ${name} header`);
    return value;
  };
  const messageId = /^<([^<>\s]+)>$/.exec(headers.get('message-id') ?? '')?.[1];
  if (!messageId) throw bad('no Message-ID');
  return {
    facts: {
      peer: need(SYNC_HEADERS.peer),
      to,
      kind: need(SYNC_HEADERS.kind) as SyncKind,
      messageId,
      timestamp: Number(need(SYNC_HEADERS.timestamp)),
      nonce: need(SYNC_HEADERS.nonce),
    },
    signature: need(SYNC_HEADERS.signature),
  };
}

/** The facts and audio of a voicemail sync mail's body. */
export function readVoicemailBody(
  contentType: string,
  body: Buffer,
): { facts: VoicemailFacts; audio: Buffer } {
  const { json, audio } = readJsonAndWav(contentType, body);
  const facts = json as VoicemailFacts;
  if (typeof facts?.mailbox !== 'string' || typeof facts.receivedAt !== 'number')
    throw bad('its facts name no mailbox or time');
  return { facts, audio };
}

/** The JSON part and the WAV attachment of a body `jsonAndWav` made. */
function readJsonAndWav(contentType: string, body: Buffer): { json: unknown; audio: Buffer } {
  const boundary = /boundary="?([^";]+)"?/i.exec(contentType)?.[1];
  if (!boundary) throw bad('no multipart boundary');
  const parts = body
    .toString('latin1')
    .split(`--${boundary}`)
    .slice(1, 3)
    .map((p) => {
      const end = p.indexOf('\r\n\r\n');
      return end < 0 ? '' : p.slice(end + 4).replace(/\r\n$/, '');
    });
  if (parts.length < 2) throw bad('it has not its two parts');
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(parts[0]!, 'latin1').toString('utf8'));
  } catch {
    throw bad('its facts are not JSON');
  }
  return { json, audio: Buffer.from(parts[1]!.replace(/\s+/g, ''), 'base64') };
}

/**
 * The MIME body of a replication change: the change as a JSON part, then each greeting's audio
 * it needs as a WAV part named by its SHA-256.
 */
export function replicaBody(
  change: ReplicaChange,
  audio: ReadonlyMap<string, Uint8Array>,
): { body: Buffer; contentType: string } {
  const boundary = `vg-${randomBytes(12).toString('hex')}`;
  const parts = [
    [`--${boundary}`, 'Content-Type: application/json; charset=utf-8', '', JSON.stringify(change)],
    ...[...audio].map(([sha, bytes]) => [
      `--${boundary}`,
      'Content-Type: audio/wav',
      'Content-Transfer-Encoding: base64',
      `Content-ID: <${sha}>`,
      '',
      Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
        .toString('base64')
        .replace(/.{1,76}/g, (line) => line + CRLF)
        .replace(/\r\n$/, ''),
    ]),
  ];
  const body = [...parts.map((p) => p.join(CRLF)), `--${boundary}--`, ''].join(CRLF);
  return { body: Buffer.from(body), contentType: `multipart/mixed; boundary="${boundary}"` };
}

/** The change and audio of a replication mail's body. */
export function readReplicaBody(
  contentType: string,
  body: Buffer,
): { change: ReplicaChange; audio: Map<string, Buffer> } {
  const boundary = /boundary="?([^";]+)"?/i.exec(contentType)?.[1];
  if (!boundary) throw bad('no multipart boundary');
  const parts = body
    .toString('latin1')
    .split(`--${boundary}`)
    .slice(1)
    .filter((p) => !p.startsWith('--'))
    .map((p) => {
      const end = p.indexOf('\r\n\r\n');
      return end < 0
        ? { head: '', text: '' }
        : { head: p.slice(0, end), text: p.slice(end + 4).replace(/\r\n$/, '') };
    });
  if (parts.length < 1) throw bad('it has no change');
  let change: ReplicaChange;
  try {
    change = JSON.parse(Buffer.from(parts[0]!.text, 'latin1').toString('utf8')) as ReplicaChange;
  } catch {
    throw bad('its change is not JSON');
  }
  if (
    typeof change?.epoch !== 'string' ||
    !Number.isSafeInteger(change.version) ||
    change.version < 1 ||
    !Array.isArray(change.ops) ||
    !Array.isArray(change.kinds)
  )
    throw bad('its change has no epoch, version, kinds or steps');
  const audio = new Map<string, Buffer>();
  for (const p of parts.slice(1)) {
    const sha = /content-id:\s*<([0-9a-f]{64})>/i.exec(p.head)?.[1];
    if (sha) audio.set(sha, Buffer.from(p.text.replace(/\s+/g, ''), 'base64'));
  }
  return { change, audio };
}

/** What a `state` sync mail says: a voicemail's new state in a mailbox, as a JSON body. */
export interface StateFacts extends PeerState {
  /** The mailbox's name at the receiving server. */
  mailbox: string;
}

/** The body of a state sync mail (the voicemail's identity is the Message-ID). */
export function stateBody(facts: StateFacts): { body: Buffer; contentType: string } {
  return {
    body: Buffer.from(JSON.stringify(facts) + CRLF),
    contentType: 'application/json; charset=utf-8',
  };
}

/** The facts of a state sync mail's body, checked. */
export function readStateBody(body: Buffer): StateFacts {
  let facts: Partial<StateFacts>;
  try {
    facts = JSON.parse(body.toString('utf8')) as Partial<StateFacts>;
  } catch {
    throw bad('its state change is not JSON');
  }
  if (typeof facts?.mailbox !== 'string') throw bad('its state change names no mailbox');
  return { mailbox: facts.mailbox, ...checkPeerState(facts) };
}
