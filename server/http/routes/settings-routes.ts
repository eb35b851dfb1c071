import type { Static } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import { VoicegateError } from '../../domain/errors.ts';
import type { EmailMode } from '../../domain/mailbox.ts';
import type { ApiDeps } from '../deps.ts';
import { EmailSettings, ErrorReply } from '../schemas.ts';

export function settingsRoutes(deps: ApiDeps): FastifyPluginAsync {
  return async (app) => {
    app.addHook('onRequest', deps.sessions.require);

    app.get(
      '/api/settings/email',
      { schema: { response: { 200: EmailSettings, 401: ErrorReply } } },
      async (req) => ({
        email: req.mailbox!.email,
        mode: req.mailbox!.emailMode === 'exchange' ? 'off' : req.mailbox!.emailMode,
      }),
    );

    app.put(
      '/api/settings/email',
      {
        schema: {
          summary: 'E-mail address and what is sent there',
          body: EmailSettings,
          response: { 200: EmailSettings, 400: ErrorReply, 401: ErrorReply, 403: ErrorReply },
        },
      },
      async (req) => {
        const body = req.body as Static<typeof EmailSettings>;
        // Exchange delivery is the administrator's choice: the user's form must not undo it.
        if (req.mailbox!.emailMode === 'exchange')
          throw new VoicegateError(
            'FORBIDDEN',
            "this mailbox's voicemail goes to Exchange; the administrator manages its e-mail",
          );
        const m = await deps.mailboxes.update(req.mailbox!.name, {
          email: body.email,
          emailMode: body.mode as EmailMode,
        });
        return { email: m.email, mode: m.emailMode };
      },
    );
  };
}
