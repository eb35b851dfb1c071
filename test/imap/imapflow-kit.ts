/**
 * Shared pieces of the imapflow suites: clients against a test server, a fresh mailbox per test
 * (so that one test's \Deleted or EXPUNGE never touches another's messages), and a second
 * session that reads what a mail client would show.
 */
import { ImapFlow, type ImapFlowOptions } from 'imapflow';
import type { Message } from '../../server/domain/message.ts';
import { toneWav } from '../../server/media/tone.ts';
import type { TestServer } from '../helpers/test-server.ts';

export const CODE = '1234';

export function imapClient(
  server: TestServer,
  user: string,
  pass = CODE,
  opts: Partial<ImapFlowOptions> = {},
): ImapFlow {
  const secure = opts.secure ?? true;
  return new ImapFlow({
    host: '127.0.0.1',
    port: secure ? server.ports.imaps : server.ports.imap,
    secure,
    tls: { rejectUnauthorized: false },
    auth: { user, pass },
    logger: false,
    ...opts,
  });
}

/** A connected client; close it with `logout()`. */
export async function connected(
  server: TestServer,
  user: string,
  opts: Partial<ImapFlowOptions> = {},
): Promise<ImapFlow> {
  const client = imapClient(server, user, CODE, opts);
  await client.connect();
  return client;
}

let counter = 0;

/** A new user mailbox with code CODE. */
export async function newMailbox(
  server: TestServer,
  extra: { umsAccess?: boolean; timeZone?: string } = {},
): Promise<{ id: number; name: string }> {
  const name = `user${++counter}`;
  const box = await server.context.mailboxes.add(
    { name, extension: `3${counter}`, ...extra },
    CODE,
  );
  return { id: box.id, name: box.name };
}

export interface Deposited {
  message: Message;
  audio: Uint8Array;
}

/** Deposits one voicemail, as the phone would. */
export async function deposit(
  server: TestServer,
  mailbox: string,
  opts: { seconds?: number; frequency?: number; callerNumber?: string; callerName?: string } = {},
): Promise<Deposited> {
  const audio = toneWav({ seconds: opts.seconds ?? 1, frequency: opts.frequency ?? 440 });
  const [message] = await server.context.messages.deposit({
    mailbox,
    audio,
    callerNumber: opts.callerNumber ?? '5551234',
    callerName: opts.callerName ?? 'Joe',
  });
  return { message: message!, audio };
}

/** The message as the store has it now. */
export async function stored(server: TestServer, id: string): Promise<Message | null> {
  return server.context.store.getMessage(id);
}

export function sortedFlags(flags: Iterable<string> | undefined): string[] {
  return [...(flags ?? [])].sort();
}

export interface FolderView {
  uidValidity: bigint;
  uidNext: number;
  /** UID -> sorted flags. */
  flags: Map<number, string[]>;
}

/**
 * A second, independent session that reads what a mail client would show: each `view` selects
 * the folder afresh (read-only, so it changes nothing) and fetches every UID and its flags.
 */
export class Observer {
  readonly #client: ImapFlow;
  private constructor(client: ImapFlow) {
    this.#client = client;
  }

  static async open(server: TestServer, user: string): Promise<Observer> {
    return new Observer(await connected(server, user, { disableAutoIdle: true }));
  }

  async view(folder: 'INBOX' | 'Trash'): Promise<FolderView> {
    const box = await this.#client.mailboxOpen(folder, { readOnly: true });
    const flags = new Map<number, string[]>();
    if (box.exists > 0) {
      for await (const m of this.#client.fetch('1:*', { uid: true, flags: true }))
        flags.set(m.uid, sortedFlags(m.flags));
    }
    return { uidValidity: box.uidValidity, uidNext: box.uidNext, flags };
  }

  async close(): Promise<void> {
    await this.#client.logout();
  }
}

/** What a fresh session sees in a folder. */
export async function folderView(
  server: TestServer,
  user: string,
  folder: 'INBOX' | 'Trash',
): Promise<FolderView> {
  const observer = await Observer.open(server, user);
  try {
    return await observer.view(folder);
  } finally {
    await observer.close();
  }
}

/** imapflow answers `false` (or nothing) where a command found nothing: fail there, loudly. */
export function present<T>(value: T | false | null | undefined, what = 'a result'): T {
  if (value === false || value === null || value === undefined) throw new Error(`expected ${what}`);
  return value;
}

/** Resolves when `check` is true, polling; rejects after `ms`. */
export async function until(check: () => boolean, ms = 2000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 5));
  }
}
