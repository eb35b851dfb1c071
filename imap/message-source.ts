import type { Message } from '../server/domain/message.ts';
import type { AudioStore, VoicemailStore } from '../server/domain/ports.ts';
import { VoicegateError } from '../server/domain/errors.ts';
import {
  audioAttachmentStorage,
  deserializeIndex,
  indexMessage,
  serializeIndex,
  type AttachmentStorage,
  type IndexedMessage,
} from '../server/render/message-index.ts';
import { renderVoicemail } from '../server/render/voicemail-mime.ts';
import { flagsOf } from './flags.ts';

const RENDITION = 'imap-mime';

/** What imap-core's getQueryResponse and matchSearchQuery read of a message. */
export interface ImapMessage {
  uid: number;
  modseq: number;
  flags: string[];
  idate: Date;
  size?: number;
  envelope?: unknown;
  bodystructure?: unknown;
  mimeTree?: unknown;
}

/**
 * Messages as IMAP sees them. Each is rendered and parsed once, the first time a client asks for
 * more than flags; the parsed tree is kept in the store (without the audio, which is streamed
 * from its file), so every later FETCH returns the same bytes without parsing.
 */
export class MessageSource {
  readonly attachments: AttachmentStorage;
  readonly #store: VoicemailStore;
  readonly #audio: AudioStore;
  readonly #domain: string;
  readonly #webUrl: () => string | undefined;

  constructor(
    store: VoicemailStore,
    audio: AudioStore,
    opts: { domain: string; webUrl?: () => string | undefined },
  ) {
    this.#store = store;
    this.#audio = audio;
    this.#domain = opts.domain;
    this.#webUrl = opts.webUrl ?? (() => undefined);
    this.attachments = audioAttachmentStorage(audio);
  }

  async index(m: Message): Promise<IndexedMessage> {
    const stored = await this.#store.getRendition(m.id, RENDITION);
    if (stored) return deserializeIndex(stored);
    const mailbox = await this.#store.getMailbox(m.mailboxId);
    if (!mailbox) throw new VoicegateError('NOT_FOUND', 'mailbox no longer exists');
    const raw = await renderVoicemail({
      message: m,
      mailbox,
      audio: await this.#audio.read(m.audio.key),
      domain: this.#domain,
      webUrl: this.#webUrl(),
    });
    const index = indexMessage(raw, m.audio.key);
    await this.#store.putRendition(m.id, RENDITION, serializeIndex(index));
    // Another session may have stored one first: use whichever the store kept.
    const kept = await this.#store.getRendition(m.id, RENDITION);
    return kept ? deserializeIndex(kept) : index;
  }

  async view(m: Message, withContent: boolean): Promise<ImapMessage> {
    const base: ImapMessage = {
      uid: m.uid,
      modseq: m.modseq,
      flags: flagsOf(m),
      idate: new Date(m.receivedAt),
    };
    if (!withContent) return base;
    const index = await this.index(m);
    return {
      ...base,
      size: index.size,
      envelope: index.envelope,
      bodystructure: index.bodystructure,
      mimeTree: index.tree,
    };
  }
}
