import type { Static } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import { VoicegateError } from '../../domain/errors.ts';
import type { AdminApiDeps, ApiDeps } from '../deps.ts';
import {
  AdminMailbox,
  CodeSetBody,
  MailboxPage,
  MailboxParams,
  MailboxSearch,
  NewMailboxBody,
  RemoveQuery,
} from '../admin-schemas.ts';
import { MailboxDetails, MailboxSettingsBody } from '../admin-settings-schemas.ts';
import type { MailboxChanges } from '../../domain/mailbox.ts';
import { NoContent } from '../schemas.ts';
import { adminActor } from '../session.ts';
import { ADMIN_ERRORS } from './admin-routes.ts';
import { Type } from '@sinclair/typebox';

/** Mailboxes as an administrator manages them; inside the scope that requires an administrator. */
export function adminMailboxRoutes(deps: ApiDeps & { admin: AdminApiDeps }): FastifyPluginAsync {
  const { mailboxes } = deps;
  /** One mailbox as the list shows it (with its lock). */
  const one = async (name: string) => {
    const page = await mailboxes.search('', 0, Number.MAX_SAFE_INTEGER);
    const found = page.mailboxes.find((m) => m.name === name);
    if (!found) throw new VoicegateError('NOT_FOUND', `no mailbox named "${name}"`);
    return found;
  };
  return async (app) => {
    app.get(
      '/api/admin/mailboxes',
      {
        schema: {
          summary: 'Search the mailboxes (name, extension, full name), one page by name',
          tags: ['admin'],
          querystring: MailboxSearch,
          response: { 200: MailboxPage, ...ADMIN_ERRORS },
        },
      },
      async (req) => {
        const q = req.query as Static<typeof MailboxSearch>;
        return mailboxes.search(q.q ?? '', q.offset, q.limit);
      },
    );

    app.post(
      '/api/admin/mailboxes',
      {
        schema: {
          summary: 'Add a mailbox (or hunt group) with its first code',
          tags: ['admin'],
          body: NewMailboxBody,
          response: { 201: Type.Ref(AdminMailbox), ...ADMIN_ERRORS },
        },
      },
      async (req, reply) => {
        const { code, ...input } = req.body as Static<typeof NewMailboxBody>;
        const added = await mailboxes.add(input as never, code, adminActor(req));
        return reply.status(201).send(await one(added.name));
      },
    );

    app.get(
      '/api/admin/mailboxes/:mailbox',
      {
        schema: {
          tags: ['admin'],
          params: MailboxParams,
          response: { 200: Type.Ref(AdminMailbox), ...ADMIN_ERRORS },
        },
      },
      async (req) =>
        one((await mailboxes.resolve((req.params as { mailbox: string }).mailbox)).name),
    );

    app.patch(
      '/api/admin/mailboxes/:mailbox',
      {
        schema: {
          summary:
            "Change a mailbox's settings (those given): every one `voicegate mailbox set` changes",
          tags: ['admin'],
          params: MailboxParams,
          body: MailboxSettingsBody,
          response: { 200: Type.Ref(AdminMailbox), ...ADMIN_ERRORS },
        },
      },
      async (req) => {
        const { mailbox } = req.params as Static<typeof MailboxParams>;
        const {
          home,
          exchangeAddress,
          exchangeConnection,
          sipPassword,
          readEmail,
          readEmailSecret,
          ...fields
        } = req.body as Static<typeof MailboxSettingsBody>;
        if (readEmailSecret !== undefined && readEmail === undefined)
          throw new VoicegateError(
            'INVALID_INPUT',
            'readEmailSecret: goes with readEmail (the account it opens)',
          );
        const homeChange =
          home !== undefined || exchangeAddress !== undefined || exchangeConnection !== undefined;
        const updated = await deps.admin.mailboxSettings.apply(
          mailbox,
          {
            fields: fields as MailboxChanges,
            ...(homeChange ? { home: { home, exchangeAddress, exchangeConnection } } : {}),
            ...(sipPassword !== undefined ? { sipPassword } : {}),
            ...(readEmail !== undefined
              ? { readEmail: { choice: readEmail, secret: readEmailSecret } }
              : {}),
          },
          adminActor(req),
        );
        return one(updated.name);
      },
    );

    app.get(
      '/api/admin/mailboxes/:mailbox/settings',
      {
        schema: {
          summary:
            'A mailbox with its home, phone credentials, e-mail reading (secret masked) and members',
          tags: ['admin'],
          params: MailboxParams,
          response: { 200: Type.Ref(MailboxDetails), ...ADMIN_ERRORS },
        },
      },
      async (req) => {
        const m = await mailboxes.resolve((req.params as Static<typeof MailboxParams>).mailbox);
        return { mailbox: await one(m.name), ...(await deps.admin.mailboxSettings.extras(m.name)) };
      },
    );

    app.put(
      '/api/admin/mailboxes/:mailbox/code',
      {
        schema: {
          summary: 'Set (reset) the voicemail code; the lockout ends with it',
          tags: ['admin'],
          params: MailboxParams,
          body: CodeSetBody,
          response: { 204: NoContent, ...ADMIN_ERRORS },
        },
      },
      async (req, reply) => {
        const { mailbox } = req.params as Static<typeof MailboxParams>;
        const { code } = req.body as Static<typeof CodeSetBody>;
        await mailboxes.setCode(mailbox, code, adminActor(req));
        return reply.status(204).send();
      },
    );

    app.post(
      '/api/admin/mailboxes/:mailbox/unlock',
      {
        schema: {
          summary: 'End a lockout after wrong codes',
          tags: ['admin'],
          params: MailboxParams,
          response: { 204: NoContent, ...ADMIN_ERRORS },
        },
      },
      async (req, reply) => {
        await mailboxes.unlock(
          (req.params as Static<typeof MailboxParams>).mailbox,
          adminActor(req),
        );
        return reply.status(204).send();
      },
    );

    app.delete(
      '/api/admin/mailboxes/:mailbox',
      {
        schema: {
          summary: 'Remove a mailbox with its messages and greetings; ?confirm= repeats its name',
          tags: ['admin'],
          params: MailboxParams,
          querystring: RemoveQuery,
          response: { 204: NoContent, ...ADMIN_ERRORS },
        },
      },
      async (req, reply) => {
        const target = await mailboxes.resolve(
          (req.params as Static<typeof MailboxParams>).mailbox,
        );
        if ((req.query as Static<typeof RemoveQuery>).confirm !== target.name)
          throw new VoicegateError(
            'INVALID_INPUT',
            `confirm: repeat the mailbox's name ("${target.name}") to remove it`,
          );
        await mailboxes.remove(target.name, adminActor(req));
        return reply.status(204).send();
      },
    );
  };
}
