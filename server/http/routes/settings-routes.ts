import type { Static } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import { ownerEmailSettings } from '../../domain/email-settings.ts';
import type { EmailMode } from '../../domain/mailbox.ts';
import type { ApiDeps } from '../deps.ts';
import { mailboxInfo } from '../message-view.ts';
import { WebPreferenceService } from '../../domain/web-preferences.ts';
import {
  DisplaySettings,
  EmailSettings,
  ErrorReply,
  ListOrderSetting,
  MailboxInfo,
} from '../schemas.ts';

export function settingsRoutes(deps: ApiDeps): FastifyPluginAsync {
  return async (app) => {
    app.addHook('onRequest', deps.sessions.require);

    app.get(
      '/api/settings/email',
      { schema: { response: { 200: EmailSettings, 401: ErrorReply } } },
      async (req) => ownerEmailSettings(req.mailbox!),
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
        const m = await deps.mailboxes.updateOwnEmail(req.mailbox!.name, {
          email: body.email,
          emailMode: body.mode as EmailMode,
        });
        return ownerEmailSettings(m);
      },
    );

    app.put(
      '/api/settings/display',
      {
        schema: {
          summary: "The mailbox's language and time zone",
          body: DisplaySettings,
          response: { 200: MailboxInfo, 400: ErrorReply, 401: ErrorReply },
        },
      },
      async (req) =>
        mailboxInfo(
          await deps.mailboxes.updateOwnDisplay(
            req.mailbox!.name,
            req.body as Static<typeof DisplaySettings>,
          ),
        ),
    );

    const preferences = new WebPreferenceService(deps.store);
    app.put(
      '/api/settings/list-order',
      {
        schema: {
          summary: "The web list's order, remembered for the owner on every browser",
          body: ListOrderSetting,
          response: { 200: ListOrderSetting, 400: ErrorReply, 401: ErrorReply },
        },
      },
      async (req) => {
        const { listOrder } = req.body as Static<typeof ListOrderSetting>;
        return {
          listOrder: (await preferences.setListOrder(req.mailbox!.id, listOrder)).listOrder,
        };
      },
    );
  };
}
