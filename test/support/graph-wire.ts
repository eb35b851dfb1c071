/**
 * The Graph test server's wire: the message resource as it keeps and shows it, Graph's error
 * body, JSON answers and request bodies, and the folder ids it stands in for.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

export interface FakeAttachment {
  name: string;
  contentType: string;
  bytes: Buffer;
}

export interface FakeMessage {
  id: string;
  changeKey: string;
  folder: 'inbox' | 'deleteditems' | 'drafts' | string;
  subject: string;
  body: { contentType: string; content: string };
  from: unknown;
  toRecipients: unknown;
  internetMessageId: string | null;
  importance: string;
  isRead: boolean;
  isDraft: boolean;
  flagStatus: 'notFlagged' | 'flagged' | 'complete';
  /** singleValueExtendedProperties by id as written (`String 0x001A`). */
  props: Map<string, string>;
  attachments: FakeAttachment[];
  createdAt: number;
  /** The change number of its last change (delta queries). */
  version: number;
}

/** Folder ids are opaque in Graph; these stand for them. */
export const FOLDER_IDS: Record<string, string> = {
  inbox: 'AAMkFolder-Inbox',
  deleteditems: 'AAMkFolder-DeletedItems',
  archive: 'AAMkFolder-Archive',
};
export const THREE_MB = 3 * 1024 * 1024;
export const FOUR_MB = 4 * 1024 * 1024;

/** A Graph error body (Graph reference, "Microsoft Graph error responses and resource types"). */
export function graphError(
  res: ServerResponse,
  status: number,
  code: string,
  message: string,
): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ error: { code, message, innerError: { 'request-id': randomUUID() } } }));
}

export function json(res: ServerResponse, status: number, body: unknown, headers = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

export async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** What is wrong with a fileAttachment (Graph: fileAttachment resource); null when nothing. */
export function attachmentProblem(a: Record<string, string>): string | null {
  if (a['@odata.type'] !== '#microsoft.graph.fileAttachment')
    return "'@odata.type' must be #microsoft.graph.fileAttachment";
  if (!a.name || typeof a.contentBytes !== 'string')
    return 'a fileAttachment needs name and contentBytes';
  return null;
}

/** A message as Graph shows it (the properties Voicegate and the tests read). */
export function view(m: FakeMessage) {
  return {
    id: m.id,
    changeKey: m.changeKey,
    subject: m.subject,
    internetMessageId: m.internetMessageId,
    isRead: m.isRead,
    isDraft: m.isDraft,
    importance: m.importance,
    hasAttachments: m.attachments.length > 0,
    parentFolderId: FOLDER_IDS[m.folder] ?? m.folder,
    flag: { flagStatus: m.flagStatus },
  };
}
