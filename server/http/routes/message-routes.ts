import type { Static } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import type { MessageAction } from '../../domain/message-state.ts';
import type { ApiDeps } from '../deps.ts';
import { messageInfo } from '../message-view.ts';
import {
  NoContent,
  ActionBody,
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
  PlayOnPhoneBody,
  PlayOnPhoneReply,
} from '../schemas.ts';
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
  return async (app) => {
    app.addHook('onRequest', deps.sessions.require);

    app.get(
      '/api/messages',
      {
        schema: {
          summary: 'Messages of a folder, in playback order',
          querystring: ListQuery,
          response: { 200: MessageList, 304: NoContent, ...errors },
        },
      },
      async (req, reply) => {
        const folder = (req.query as Static<typeof ListQuery>).folder ?? 'inbox';
        const box = req.mailbox!;
        // Every change to the mailbox raises its modseq: an unchanged list is answered with 304.
        const etag = `"${await deps.store.highestModseq(box.id)}-${folder}-${box.timeZone}"`;
        reply.header('ETag', etag).header('Cache-Control', 'private, no-cache');
        if (req.headers['if-none-match'] === etag) return reply.status(304).send();
        const messages = await deps.messages.list(box.id, folder);
        return {
          folder,
          messages: messages.map((m) => messageInfo(m, box)),
          counts: await deps.messages.counts(box.id),
        };
      },
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
        await deps.messages.purge(req.mailbox!.id, [id]);
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
        await deps.messages.forwardToEmail(req.mailbox!.id, id, to);
        return reply.status(202).send();
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
