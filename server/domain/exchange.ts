/**
 * Where a mailbox's voicemail lives, and what Exchange's view of a voicemail means here: the
 * rules every writer of the home setting (CLI, admin) and every Exchange adapter (EWS, Graph)
 * share. A mailbox at home in Exchange keeps each voicemail here until the Exchange item exists;
 * from then on the local message is a shadow that remembers the item.
 */
import { VoicegateError } from './errors.ts';
import { normalizeEmail, oneOf } from './mailbox.ts';
import type { TargetKind } from './delivery.ts';

export const MAILBOX_HOMES = ['local', 'exchange'] as const;
export type MailboxHomeKind = (typeof MAILBOX_HOMES)[number];

/** The protocols an Exchange connection speaks; each is a delivery target of the same name. */
export const EXCHANGE_KINDS = ['ews', 'graph'] as const;
export type ExchangeKind = (typeof EXCHANGE_KINDS)[number] & TargetKind;

export interface MailboxHome {
  home: MailboxHomeKind;
  /** The user's Exchange mailbox (its primary SMTP address); null at home here. */
  exchangeAddress: string | null;
  /** The name of the `exchange.connections` entry used; null at home here. */
  exchangeConnection: string | null;
}

export const LOCAL_HOME: MailboxHome = {
  home: 'local',
  exchangeAddress: null,
  exchangeConnection: null,
};

/** An Exchange connection as the domain knows it: its name and protocol (the config has more). */
export interface ExchangeConnectionRef {
  name: string;
  kind: ExchangeKind;
}

/** The Exchange item a voicemail became: EWS's ItemId and ChangeKey, or Graph's message id. */
export interface ExchangeItemRef {
  itemId: string;
  changeKey: string | null;
}

/** A change of home as the CLI hands it: absent fields keep their value. */
export interface MailboxHomeChange {
  home?: string;
  exchangeAddress?: string | null;
  exchangeConnection?: string | null;
}

/**
 * The home a mailbox will have after `change`, checked once for every writer: `exchange` needs
 * the user's Exchange address and a configured connection (the only one, when just one is
 * configured and none is named); `local` forgets both.
 */
export function decideHome(
  current: MailboxHome,
  change: MailboxHomeChange,
  connections: readonly ExchangeConnectionRef[],
): MailboxHome {
  const home = change.home === undefined ? current.home : oneOf(MAILBOX_HOMES, change.home, 'home');
  if (home === 'local') {
    if (change.exchangeAddress || change.exchangeConnection)
      throw new VoicegateError(
        'INVALID_INPUT',
        'an Exchange address or connection goes with --home exchange',
      );
    return LOCAL_HOME;
  }
  const address = normalizeEmail(
    change.exchangeAddress === undefined ? current.exchangeAddress : change.exchangeAddress,
  );
  if (!address)
    throw new VoicegateError(
      'INVALID_INPUT',
      "home exchange needs the address of the user's Exchange mailbox (--exchange-address)",
    );
  let name =
    change.exchangeConnection === undefined
      ? current.exchangeConnection
      : change.exchangeConnection;
  if (!name) {
    if (connections.length !== 1)
      throw new VoicegateError(
        'INVALID_INPUT',
        connections.length === 0
          ? 'no Exchange connection is configured (exchange.connections)'
          : `several Exchange connections are configured: name one (--exchange-connection ${connections.map((c) => c.name).join('|')})`,
      );
    name = connections[0]!.name;
  }
  connectionNamed(connections, name);
  return { home, exchangeAddress: address, exchangeConnection: name };
}

/** The configured connection called `name`, or INVALID_INPUT listing those that are. */
export function connectionNamed(
  connections: readonly ExchangeConnectionRef[],
  name: string,
): ExchangeConnectionRef {
  const found = connections.find((c) => c.name === name);
  if (!found)
    throw new VoicegateError(
      'INVALID_INPUT',
      `no Exchange connection named "${name}" in exchange.connections${connections.length ? ` (there are: ${connections.map((c) => c.name).join(', ')})` : ''}`,
    );
  return found;
}

/** What a delivery into Exchange carries beyond the recipient (the Exchange address). */
export type ExchangePayload = { connection: string };

export function exchangePayload(payload: unknown): ExchangePayload {
  const connection = (payload as { connection?: unknown } | null)?.connection;
  if (typeof connection !== 'string' || connection === '')
    throw new VoicegateError('INVALID_STATE', 'an Exchange delivery without its connection');
  return { connection };
}

/**
 * The class Outlook shows with its voicemail form (MS-OXOUM 2.2.2.1: a call-answering
 * voicemail), and the voice properties it reads (MS-OXPROPS; MS-OXCMAIL 2.2.3.2.23 maps them to
 * the X-Voice headers of the MIME rendering).
 */
export const VOICEMAIL_ITEM_CLASS = 'IPM.Note.Microsoft.Voicemail.UM.CA';
export const VOICE_PROPERTIES = {
  /** PidTagMessageClass. */
  messageClass: 0x001a,
  /** PidTagMessageFlags: without MSGFLAG_UNSENT the item is not a draft. */
  messageFlags: 0x0e07,
  /** PidTagVoiceMessageDuration, Int32 seconds. */
  duration: 0x6801,
  /** PidTagSenderTelephoneNumber. */
  callerNumber: 0x6802,
  /** PidTagVoiceMessageSenderName. */
  senderName: 0x6803,
  /** PidTagVoiceMessageAttachmentOrder: the audio attachment's file name. */
  attachmentOrder: 0x6805,
} as const;

/**
 * PidTagMessageFlags of a voicemail created in the inbox: MSGFLAG_UNMODIFIED (0x2) alone, so
 * neither read (0x1) nor unsent (0x8, which makes a draft). "Import items by using EWS" and
 * Thunderbird's EWS client set the flags for this reason.
 */
export const NEW_VOICEMAIL_FLAGS = 0x2;

/**
 * Why a mailbox at home in Exchange with no connection keeps its voicemail here: it had the old
 * e-mail mode `exchange`, which named none, and several connections (or none) are configured.
 */
export const NO_CONNECTION =
  'at home in Exchange with no connection named (it had the old e-mail mode "exchange"): kept here only; name one with voicegate mailbox set --exchange-connection';

/**
 * Where a new voicemail of a mailbox at home in Exchange is delivered: the target of its
 * connection's kind, to its Exchange address. Null at home here, or when the connection is none or no
 * longer configured (the voicemail then stays here only, and `reason` says why).
 */
export function exchangeDestination(
  home: MailboxHome,
  connections: readonly ExchangeConnectionRef[],
):
  | { target: ExchangeKind; recipient: string; payload: ExchangePayload }
  | { target: null; reason: string | null } {
  if (home.home !== 'exchange' || !home.exchangeAddress) return { target: null, reason: null };
  if (!home.exchangeConnection) return { target: null, reason: NO_CONNECTION };
  const connection = connections.find((c) => c.name === home.exchangeConnection);
  if (!connection)
    return {
      target: null,
      reason: `Exchange connection "${home.exchangeConnection}" is not configured: kept here only`,
    };
  return {
    target: connection.kind,
    recipient: home.exchangeAddress,
    payload: { connection: connection.name },
  };
}
