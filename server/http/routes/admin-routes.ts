import type { Static } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import { TOTP_NEEDED } from '../../domain/admin-service.ts';
import { isVoicegateError } from '../../domain/errors.ts';
import type { AdminApiDeps, ApiDeps } from '../deps.ts';
import {
  AdminInfo,
  AdminLoginBody,
  AdminNameParams,
  AdminSessionReply,
  NewAdminBody,
  PasswordBody,
  TotpBody,
  TotpProposal,
} from '../admin-schemas.ts';
import { ErrorReply, NoContent } from '../schemas.ts';
import { adminActor } from '../session.ts';
import { adminMailboxRoutes } from './admin-mailbox-routes.ts';
import { adminSystemRoutes } from './admin-system-routes.ts';
import { adminGreetingRoutes } from './admin-greeting-routes.ts';
import { Type } from '@sinclair/typebox';

export const ADMIN_ERRORS = {
  400: ErrorReply,
  401: ErrorReply,
  403: ErrorReply,
  404: ErrorReply,
  409: ErrorReply,
  503: ErrorReply,
};

/**
 * /api/admin: the log-in, then every other route inside one scope whose single onRequest hook
 * (`requireAdmin`) refuses an unauthenticated request (401), a mailbox's session (403) and a
 * change without the CSRF token (403). No route checks it again, and none can forget it.
 */
export function adminRoutes(deps: ApiDeps & { admin: AdminApiDeps }): FastifyPluginAsync {
  const { admins } = deps.admin;
  return async (app) => {
    app.post(
      '/api/admin/login',
      {
        schema: {
          summary: 'Log in as an administrator (the one-time code when it has a second factor)',
          tags: ['admin'],
          body: AdminLoginBody,
          response: { 200: AdminSessionReply, ...ADMIN_ERRORS },
        },
      },
      async (req, reply) => {
        const body = req.body as Static<typeof AdminLoginBody>;
        try {
          const admin = await admins.authenticate(body.name, body.password, body.totp, req.ip);
          const csrfToken = await deps.sessions.createAdmin(reply, admin.id);
          return { admin, csrfToken };
        } catch (err) {
          // The password was right; the form asks for the code, naming the field.
          if (isVoicegateError(err, 'AUTH_FAILED') && err.message === TOTP_NEEDED)
            return reply
              .status(401)
              .send({ error: 'AUTH_FAILED', message: TOTP_NEEDED, field: 'totp' });
          throw err;
        }
      },
    );

    await app.register(async (scope) => {
      scope.addHook('onRequest', deps.sessions.requireAdmin);

      scope.get(
        '/api/admin/session',
        { schema: { tags: ['admin'], response: { 200: AdminSessionReply, ...ADMIN_ERRORS } } },
        async (req) => ({ admin: req.admin!, csrfToken: await deps.sessions.csrfToken(req) }),
      );

      scope.post(
        '/api/admin/logout',
        { schema: { tags: ['admin'], response: { 204: NoContent, ...ADMIN_ERRORS } } },
        async (req, reply) => {
          await deps.sessions.end(req, reply);
          return reply.status(204).send();
        },
      );

      scope.post(
        '/api/admin/totp/proposal',
        {
          schema: {
            summary: 'A new TOTP secret and its otpauth URI, to show in an authenticator app',
            tags: ['admin'],
            response: { 200: TotpProposal, ...ADMIN_ERRORS },
          },
        },
        async (req) => admins.totpProposal(req.admin!),
      );

      scope.put(
        '/api/admin/totp',
        {
          schema: {
            summary: 'Enrol the second factor: the secret proposed and its current code',
            tags: ['admin'],
            body: TotpBody,
            response: { 204: NoContent, ...ADMIN_ERRORS },
          },
        },
        async (req, reply) => {
          const body = req.body as Static<typeof TotpBody>;
          await admins.enrolTotp(req.admin!.id, body.secret, body.code, adminActor(req));
          return reply.status(204).send();
        },
      );

      scope.delete(
        '/api/admin/totp',
        { schema: { tags: ['admin'], response: { 204: NoContent, ...ADMIN_ERRORS } } },
        async (req, reply) => {
          await admins.removeTotp(req.admin!.name, adminActor(req));
          return reply.status(204).send();
        },
      );

      scope.get(
        '/api/admin/admins',
        {
          schema: {
            tags: ['admin'],
            response: {
              200: Type.Object({ admins: Type.Array(Type.Ref(AdminInfo)) }),
              ...ADMIN_ERRORS,
            },
          },
        },
        async () => ({ admins: await admins.list() }),
      );

      scope.post(
        '/api/admin/admins',
        {
          schema: {
            tags: ['admin'],
            body: NewAdminBody,
            response: { 201: Type.Ref(AdminInfo), ...ADMIN_ERRORS },
          },
        },
        async (req, reply) => {
          const body = req.body as Static<typeof NewAdminBody>;
          return reply
            .status(201)
            .send(await admins.add(body.name, body.password, adminActor(req)));
        },
      );

      scope.put(
        '/api/admin/admins/:name/password',
        {
          schema: {
            summary: "Set an administrator's password (one's own: the other sessions end)",
            tags: ['admin'],
            params: AdminNameParams,
            body: PasswordBody,
            response: { 204: NoContent, ...ADMIN_ERRORS },
          },
        },
        async (req, reply) => {
          const { name } = req.params as Static<typeof AdminNameParams>;
          const { password } = req.body as Static<typeof PasswordBody>;
          // One's own: this session stays, the others end; another's: all of its sessions end.
          const keep = name === req.admin!.name ? deps.sessions.tokenHash(req) : '';
          await admins.setPassword(name, password, adminActor(req), keep);
          return reply.status(204).send();
        },
      );

      scope.delete(
        '/api/admin/admins/:name',
        {
          schema: {
            summary: 'Remove an administrator (never the last)',
            tags: ['admin'],
            params: AdminNameParams,
            response: { 204: NoContent, ...ADMIN_ERRORS },
          },
        },
        async (req, reply) => {
          const { name } = req.params as Static<typeof AdminNameParams>;
          await admins.remove(name, adminActor(req));
          return reply.status(204).send();
        },
      );

      scope.post(
        '/api/admin/admins/:name/unlock',
        {
          schema: {
            summary: "End an administrator's lockout after failed log-ins",
            tags: ['admin'],
            params: AdminNameParams,
            response: { 204: NoContent, ...ADMIN_ERRORS },
          },
        },
        async (req, reply) => {
          const { name } = req.params as Static<typeof AdminNameParams>;
          await admins.unlock(name, adminActor(req));
          return reply.status(204).send();
        },
      );

      scope.delete(
        '/api/admin/admins/:name/totp',
        {
          schema: {
            summary: "Remove an administrator's second factor (a lost phone)",
            tags: ['admin'],
            params: AdminNameParams,
            response: { 204: NoContent, ...ADMIN_ERRORS },
          },
        },
        async (req, reply) => {
          const { name } = req.params as Static<typeof AdminNameParams>;
          await admins.removeTotp(name, adminActor(req));
          return reply.status(204).send();
        },
      );

      await scope.register(adminMailboxRoutes(deps));
      await scope.register(adminGreetingRoutes(deps));
      await scope.register(adminSystemRoutes(deps));
    });
  };
}
