import type { Static } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import { VoicegateError } from '../../domain/errors.ts';
import type { GreetingKind } from '../../domain/mailbox.ts';
import type { AdminApiDeps, ApiDeps } from '../deps.ts';
import { MailboxParams } from '../admin-schemas.ts';
import { AdminGreetingParams, MembersBody, MembersReply } from '../admin-settings-schemas.ts';
import { sendStored } from '../range.ts';
import { ErrorReply, GreetingList, NoContent } from '../schemas.ts';
import { adminActor } from '../session.ts';
import { ADMIN_ERRORS } from './admin-routes.ts';
import { acceptAudioBodies, MAX_UPLOAD, uploadedGreeting } from './greeting-routes.ts';

/**
 * A mailbox's hunt-group members and greetings, as an administrator manages them (inside the
 * scope that requires an administrator). An upload is checked and converted as the owner's own.
 */
export function adminGreetingRoutes(deps: ApiDeps & { admin: AdminApiDeps }): FastifyPluginAsync {
  const { mailboxes, messages } = deps;
  const settings = deps.admin.mailboxSettings;
  const list = async (name: string) => {
    const box = await mailboxes.resolve(name);
    return {
      active: box.activeGreeting,
      greetings: (await messages.greetings(box)).map((g) => ({
        kind: g.kind,
        durationMs: g.audio.durationMs,
        updatedAt: new Date(g.updatedAt).toISOString(),
      })),
    };
  };
  const members = (list: { name: string; extension: string | null; fullName: string }[]) => ({
    members: list.map(({ name, extension, fullName }) => ({ name, extension, fullName })),
  });
  // Read here, not at load: admin-routes.ts, which defines it, imports this module.
  const UPLOAD_ERRORS = { ...ADMIN_ERRORS, 413: ErrorReply, 415: ErrorReply };
  return async (app) => {
    acceptAudioBodies(app);

    app.get(
      '/api/admin/mailboxes/:mailbox/members',
      {
        schema: {
          summary: "A hunt group's members",
          tags: ['admin'],
          params: MailboxParams,
          response: { 200: MembersReply, ...ADMIN_ERRORS },
        },
      },
      async (req) =>
        members(await mailboxes.groupMembers((req.params as Static<typeof MailboxParams>).mailbox)),
    );

    app.put(
      '/api/admin/mailboxes/:mailbox/members',
      {
        schema: {
          summary: "Set a hunt group's members (all of them)",
          tags: ['admin'],
          params: MailboxParams,
          body: MembersBody,
          response: { 200: MembersReply, ...ADMIN_ERRORS },
        },
      },
      async (req) => {
        const { mailbox } = req.params as Static<typeof MailboxParams>;
        const body = req.body as Static<typeof MembersBody>;
        return members(await settings.setMembers(mailbox, body.members, adminActor(req)));
      },
    );

    app.get(
      '/api/admin/mailboxes/:mailbox/greetings',
      {
        schema: {
          summary: 'The greetings recorded, and which one callers hear',
          tags: ['admin'],
          params: MailboxParams,
          response: { 200: GreetingList, ...ADMIN_ERRORS },
        },
      },
      async (req) => list((req.params as Static<typeof MailboxParams>).mailbox),
    );

    app.get(
      '/api/admin/mailboxes/:mailbox/greetings/:kind/audio',
      {
        schema: {
          summary: 'Listen to a greeting (WAV, byte ranges)',
          tags: ['admin'],
          params: AdminGreetingParams,
          response: ADMIN_ERRORS,
        },
      },
      async (req, reply) => {
        const { mailbox, kind } = req.params as Static<typeof AdminGreetingParams>;
        const found = (await messages.greetings(mailbox)).find((g) => g.kind === kind);
        if (!found) throw new VoicegateError('NOT_FOUND', `no ${kind} greeting`);
        return sendStored(req, reply, deps.audio, found.audio.key, { type: 'audio/wav' });
      },
    );

    app.put(
      '/api/admin/mailboxes/:mailbox/greetings/:kind',
      {
        bodyLimit: MAX_UPLOAD,
        schema: {
          summary: 'Upload a greeting: the audio file as the body (WAV, Ogg, FLAC, MP3, WebM)',
          tags: ['admin'],
          params: AdminGreetingParams,
          response: { 200: GreetingList, ...UPLOAD_ERRORS },
        },
      },
      async (req) => {
        const { mailbox, kind } = req.params as Static<typeof AdminGreetingParams>;
        const wav = await uploadedGreeting(req, deps.tools);
        await settings.setGreeting(
          mailbox,
          kind as GreetingKind,
          Buffer.from(wav),
          adminActor(req),
        );
        return list(mailbox);
      },
    );

    app.delete(
      '/api/admin/mailboxes/:mailbox/greetings/:kind',
      {
        schema: {
          summary: 'Remove a greeting',
          tags: ['admin'],
          params: AdminGreetingParams,
          response: { 204: NoContent, ...ADMIN_ERRORS },
        },
      },
      async (req, reply) => {
        const { mailbox, kind } = req.params as Static<typeof AdminGreetingParams>;
        await settings.removeGreeting(mailbox, kind as GreetingKind, adminActor(req));
        return reply.status(204).send();
      },
    );
  };
}
