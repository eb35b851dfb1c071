import type { Static } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import type { MessageAction } from '../../domain/message-state.ts';
import type { ApiDeps, PhoneReach } from '../deps.ts';
import { createHash } from 'node:crypto';
import { decodeCursor, encodeCursor, messageInfo, toSearch } from '../message-view.ts';
import {
  NoContent,
  ActionBody,
  BulkBody,
  BulkReply,
  EmptyReply,
  ErrorReply,
  ForwardBody,
  ForwardEmailBody,
  ForwardReply,
  IdParams,
  ListQuery,
  MailboxSearchQuery,
  MailboxSearchReply,
  MessageInfo,
  MessageList,
  PhoneReachReply,
  PlayOnPhoneBody,
  PlayOnPhoneReply,
} from '../schemas.ts';
import { webActor } from '../session.ts';
import { ListCounts, mailboxKey } from '../list-counts.ts';
import { VoicegateError } from '../../domain/errors.ts';

const errors = {
  204: NoContent,
  400: ErrorReply,
  401: ErrorReply,
  403: ErrorReply,
  404: ErrorReply,
  409: ErrorReply,
};

export function messageRoutes(deps: ApiDeps): FastifyPluginAsync {
  // Counted once per mailbox and modification sequence, not for every page asked.
  const listCounts = new ListCounts();
  return async (app) => {
    app.addHook('onRequest', deps.sessions.require);

    app.get(
      '/api/messages',
      {
        schema: {
          summary: 'One page of a folder, newest first unless asked otherwise, searched',
          querystring: ListQuery,
          response: { 200: MessageList, 304: NoContent, ...errors },
        },
      },
      async (req, reply) => {
        const query = req.query as Static<typeof ListQuery>;
        const box = req.mailbox!;
        // Every change to the mailbox raises its modseq: an unchanged page is answered with 304.
        // The tag names the mailbox too: every mailbox's sequence starts at 1, and a browser
        // shared by two users must never be told another mailbox's list is unchanged.
        const asked = createHash('sha256').update(req.url).digest('base64url').slice(0, 16);
        const modseq = await deps.store.highestModseq(box.id);
        const boxKey = mailboxKey(box);
        const etag = `"${boxKey}-${modseq}-${asked}-${box.timeZone}"`;
        reply.header('ETag', etag).header('Cache-Control', 'private, no-cache');
        if (req.headers['if-none-match'] === etag) return reply.status(304).send();
        const search = toSearch(query);
        // Days are the mailbox's: the same search in another zone is another set of messages.
        const key = JSON.stringify([search, box.timeZone]);
        const known = listCounts.get(boxKey, modseq, key);
        const page = await deps.messages.page(
          box,
          {
            ...search,
            limit: query.limit ?? 50,
            ...(query.cursor ? { after: decodeCursor(query.cursor) } : {}),
          },
          known.total,
        );
        const counts = known.counts ?? (await deps.messages.counts(box.id));
        listCounts.set(boxKey, modseq, key, { counts, total: page.total });
        return {
          folder: query.folder ?? 'inbox',
          messages: page.messages.map((m) => messageInfo(m, box)),
          counts,
          next: page.next ? encodeCursor(page.next) : null,
          total: page.total,
        };
      },
    );

    app.post(
      '/api/messages/bulk',
      {
        schema: {
          summary:
            'One action on many messages (listed, or all matching a search), all or none: play, markUnread, save, unsave, delete, undelete, forward',
          body: BulkBody,
          response: { 200: BulkReply, ...errors },
        },
      },
      async (req) => {
        const body = req.body as Static<typeof BulkBody>;
        const box = req.mailbox!;
        if ((body.ids === undefined) === (body.match === undefined))
          throw new VoicegateError('INVALID_INPUT', 'give either ids or match');
        const ids = body.ids ?? (await deps.messages.idsMatching(box, toSearch(body.match!)));
        if (body.action === 'forward') {
          if (!body.to) throw new VoicegateError('INVALID_INPUT', 'forward needs a mailbox: to');
          if (ids.length > 0) await deps.messages.forward(box.id, ids, body.to);
        } else if (ids.length > 0) {
          await deps.messages.actMany(box.id, ids, body.action as MessageAction);
        }
        return { count: ids.length };
      },
    );

    app.post(
      '/api/messages/empty-deleted',
      {
        schema: {
          summary: 'Delete every deleted message for good',
          response: { 200: EmptyReply, ...errors },
        },
      },
      async (req) => ({ purged: await deps.messages.emptyDeleted(req.mailbox!.id, webActor(req)) }),
    );

    app.get(
      '/api/messages/:id',
      { schema: { params: IdParams, response: { 200: MessageInfo, ...errors } } },
      async (req) => {
        const { id } = req.params as Static<typeof IdParams>;
        return messageInfo(await deps.messages.get(req.mailbox!.id, id), req.mailbox!);
      },
    );

    app.post(
      '/api/messages/:id/actions',
      {
        schema: {
          summary: 'Play, mark unread, save, unsave, delete or undelete',
          params: IdParams,
          body: ActionBody,
          response: { 200: MessageInfo, ...errors },
        },
      },
      async (req) => {
        const { id } = req.params as Static<typeof IdParams>;
        const { action } = req.body as Static<typeof ActionBody>;
        return messageInfo(
          await deps.messages.act(req.mailbox!.id, id, action as MessageAction),
          req.mailbox!,
        );
      },
    );

    app.delete(
      '/api/messages/:id',
      {
        schema: {
          summary: 'Delete a deleted message for good',
          params: IdParams,
          response: errors,
        },
      },
      async (req, reply) => {
        const { id } = req.params as Static<typeof IdParams>;
        await deps.messages.purge(req.mailbox!.id, [id], webActor(req));
        return reply.status(204).send();
      },
    );

    app.post(
      '/api/messages/:id/forward',
      {
        schema: {
          summary: 'Forward a copy to another mailbox',
          params: IdParams,
          body: ForwardBody,
          response: { 201: ForwardReply, ...errors },
        },
      },
      async (req, reply) => {
        const { id } = req.params as Static<typeof IdParams>;
        const { to } = req.body as Static<typeof ForwardBody>;
        const copies = await deps.messages.forward(req.mailbox!.id, id, to);
        return reply.status(201).send({ forwarded: copies.length });
      },
    );

    app.post(
      '/api/messages/:id/forward-email',
      {
        schema: {
          summary: 'Send a copy by e-mail to any address (queued; never a private message)',
          params: IdParams,
          body: ForwardEmailBody,
          response: { 202: NoContent, ...errors },
        },
      },
      async (req, reply) => {
        const { id } = req.params as Static<typeof IdParams>;
        const { to } = req.body as Static<typeof ForwardEmailBody>;
        await deps.messages.forwardToEmail(req.mailbox!.id, id, to, webActor(req));
        return reply.status(202).send();
      },
    );

    app.get(
      '/api/phone-reach',
      {
        schema: {
          summary: "Whether play on my phone can ring the user's phone now, and if not why",
          response: { 200: PhoneReachReply, 401: ErrorReply },
        },
      },
      async (req) => {
        const reach: PhoneReach = !deps.phone
          ? { reachable: false, number: null, reason: 'no-telephony' }
          : deps.phone.reach
            ? await deps.phone.reach(req.mailbox!)
            : { reachable: true, number: req.mailbox!.extension ?? '' };
        return { reason: null, ...reach };
      },
    );

    app.post(
      '/api/messages/:id/play-on-phone',
      {
        schema: {
          summary:
            "Ring the user's phone and play the message there, with keys to replay, save, delete",
          params: IdParams,
          body: PlayOnPhoneBody,
          response: { 202: PlayOnPhoneReply, ...errors, 503: ErrorReply },
        },
      },
      async (req, reply) => {
        const { id } = req.params as Static<typeof IdParams>;
        const { to } = (req.body ?? {}) as Static<typeof PlayOnPhoneBody>;
        if (!deps.phone) throw new VoicegateError('UNAVAILABLE', 'the phone part is not running');
        return reply.status(202).send(await deps.phone.playOnPhone(req.mailbox!, id, to));
      },
    );

    app.get(
      '/api/mailboxes',
      {
        schema: {
          summary: 'Mailboxes to forward to',
          querystring: MailboxSearchQuery,
          response: { 200: MailboxSearchReply, 401: ErrorReply },
        },
      },
      async (req) => {
        const q = ((req.query as Static<typeof MailboxSearchQuery>).q ?? '').trim().toLowerCase();
        const all = await deps.mailboxes.list();
        const hits = all.filter(
          (m) =>
            m.id !== req.mailbox!.id &&
            (!q ||
              m.name.toLowerCase().includes(q) ||
              m.fullName.toLowerCase().includes(q) ||
              (m.extension ?? '').startsWith(q)),
        );
        return {
          mailboxes: hits
            .slice(0, 20)
            .map((m) => ({ name: m.name, extension: m.extension, fullName: m.fullName })),
        };
      },
    );
  };
}
