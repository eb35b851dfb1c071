/**
 * Every API type the web app uses, in one file. They come from api-schema.d.ts, which
 * scripts/api-types.ts generates from the server's OpenAPI document (itself made from
 * server/http/schemas.ts), so a change of the API shows up here as a type error.
 * Only the event stream's data is written by hand: OpenAPI does not describe it.
 */
import type { components, paths } from './api-schema.d.ts';

type Schemas = components['schemas'];
type Method = 'get' | 'post' | 'put' | 'delete';
type Operation<P extends keyof paths, M extends Method> = NonNullable<paths[P][M]>;
type Json<T> = T extends { content: { 'application/json': infer Body } } ? Body : never;
/** The JSON reply of an operation, for one status. */
type Reply<P extends keyof paths, M extends Method, Status extends number = 200> =
  Operation<P, M> extends { responses: Record<Status, infer R> } ? Json<R> : never;
/** The JSON body of an operation. */
type Body<P extends keyof paths, M extends Method> = Json<Operation<P, M>['requestBody']>;

/** Every error reply: a stable code (AUTH_FAILED, FORBIDDEN, NOT_FOUND...) and a text. */
export type ErrorReply = Schemas['Error'];
export type Mailbox = Schemas['Mailbox'];
export type Session = Schemas['Session'];
export type LoginBody = Body<'/api/login', 'post'>;

export type Message = Schemas['Message'];
export type MessageState = Message['state'];
export type MessageList = Schemas['MessageList'];
export type Folder = MessageList['folder'];
export type MessageCounts = MessageList['counts'];
export type MessageAction = Body<'/api/messages/{id}/actions', 'post'>['action'];
export type BulkBody = Body<'/api/messages/bulk', 'post'>;
export type BulkAction = BulkBody['action'];
export type BulkReply = Reply<'/api/messages/bulk', 'post'>;
export type EmptyReply = Reply<'/api/messages/empty-deleted', 'post'>;
/** A folder's search, as the list's URL and the API take it. */
export type SearchFields = NonNullable<BulkBody['match']>;
export type ForwardBody = Body<'/api/messages/{id}/forward', 'post'>;
export type ForwardReply = Reply<'/api/messages/{id}/forward', 'post', 201>;
export type PlayOnPhoneReply = Reply<'/api/messages/{id}/play-on-phone', 'post', 202>;
export type PhoneReach = Reply<'/api/phone-reach', 'get'>;
export type Peaks = Reply<'/api/messages/{id}/peaks', 'get'>;
export type MailboxSearchReply = Reply<'/api/mailboxes', 'get'>;
export type MailboxSearchHit = MailboxSearchReply['mailboxes'][number];

export type CodeBody = Body<'/api/code', 'put'>;

export type GreetingKind = Operation<'/api/greetings/{kind}', 'put'>['parameters']['path']['kind'];
export type GreetingList = Reply<'/api/greetings', 'get'>;
export type Greeting = GreetingList['greetings'][number];
export type ActiveGreetingBody = Body<'/api/greetings/active', 'put'>;
/** The greetings a caller can be played; `name` (the recorded name) is not one of them. */
export type ActiveGreetingKind = ActiveGreetingBody['active'];

export type DisplayBody = Body<'/api/settings/display', 'put'>;
export type ListOrder = Session['listOrder'];
export type EmailSettings = Reply<'/api/settings/email', 'get'>;
export type EmailMode = EmailSettings['mode'];

/** The data of a server-sent `change` event on /api/events (server/http/routes/events-routes.ts). */
export interface ChangeEvent {
  kind: 'added' | 'changed' | 'removed' | 'mailbox';
  messageId?: string | null;
  state?: MessageState | null;
  /** The message as it is now; null when it is gone. */
  message?: Message | null;
  counts?: MessageCounts;
}
