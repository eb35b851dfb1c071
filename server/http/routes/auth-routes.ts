import type { Static } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import type { ApiDeps } from '../deps.ts';
import { mailboxInfo } from '../message-view.ts';
import { NoContent, CodeBody, ErrorReply, LoginBody, SessionReply } from '../schemas.ts';
import { publicMailbox } from '../../domain/mailbox.ts';
import { WebPreferenceService } from '../../domain/web-preferences.ts';

const errors = {
  204: NoContent,
  400: ErrorReply,
  401: ErrorReply,
  403: ErrorReply,
  503: ErrorReply,
};

export function authRoutes(deps: ApiDeps): FastifyPluginAsync {
  return async (app) => {
    const preferences = new WebPreferenceService(deps.store);

    app.post(
      '/api/login',
      {
        schema: {
          summary: 'Log in with a mailbox name or extension and its code',
          body: LoginBody,
          response: { 200: SessionReply, ...errors },
        },
      },
      async (req, reply) => {
        const body = req.body as Static<typeof LoginBody>;
        const mailbox = await deps.mailboxes.authenticate(body.mailbox, body.code, {
          channel: 'web',
          remote: req.ip,
          requireUms: true,
        });
        const csrfToken = await deps.sessions.create(reply, mailbox.id);
        const { listOrder } = await preferences.get(mailbox.id);
        return { mailbox: mailboxInfo(mailbox), csrfToken, listOrder };
      },
    );

    app.get(
      '/api/session',
      {
        onRequest: deps.sessions.require,
        schema: { response: { 200: SessionReply, 401: ErrorReply } },
      },
      async (req) => ({
        mailbox: mailboxInfo(publicMailbox(req.mailbox!)),
        csrfToken: await deps.sessions.csrfToken(req),
        listOrder: (await preferences.get(req.mailbox!.id)).listOrder,
      }),
    );

    app.post(
      '/api/logout',
      {
        onRequest: deps.sessions.require,
        schema: { response: { 204: NoContent, 401: ErrorReply, 403: ErrorReply } },
      },
      async (req, reply) => {
        await deps.sessions.end(req, reply);
        return reply.status(204).send();
      },
    );

    app.put(
      '/api/code',
      {
        onRequest: deps.sessions.require,
        schema: { summary: 'Change the voicemail code', body: CodeBody, response: errors },
      },
      async (req, reply) => {
        const body = req.body as Static<typeof CodeBody>;
        await deps.mailboxes.changeCode(
          req.mailbox!.name,
          body.oldCode,
          body.newCode,
          'web',
          req.ip,
        );
        await deps.sessions.endOthers(req);
        return reply.status(204).send();
      },
    );
  };
}
