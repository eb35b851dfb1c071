import type { Static } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import type { AdminApiDeps, ApiDeps } from '../deps.ts';
import {
  AuditReply,
  AuditSearch,
  FailbackReply,
  QueueParams,
  QueueQuery,
  QueueReply,
  TopologyReply,
} from '../admin-schemas.ts';
import {
  FlowsCheck,
  FlowsCheckBody,
  FlowsReply,
  FullStatusReply,
} from '../admin-settings-schemas.ts';
import { VoicegateError } from '../../domain/errors.ts';
import { NoContent } from '../schemas.ts';
import { adminActor } from '../session.ts';
import { ADMIN_ERRORS } from './admin-routes.ts';

/** The delivery queue, the audit trail and the system's status, for administrators. */
export function adminSystemRoutes(deps: ApiDeps & { admin: AdminApiDeps }): FastifyPluginAsync {
  const { deliveries, status, flows, topology, failback } = deps.admin;
  return async (app) => {
    app.get(
      '/api/admin/queue',
      {
        schema: {
          summary: 'Deliveries waiting and failed for good, of one target or all',
          tags: ['admin'],
          querystring: QueueQuery,
          response: { 200: QueueReply, ...ADMIN_ERRORS },
        },
      },
      async (req) => {
        const { target } = req.query as Static<typeof QueueQuery>;
        const items = (await deliveries.list()).filter((d) => !target || d.target === target);
        return {
          items: items.map((d) => ({
            id: d.id,
            target: d.target,
            kind: d.kind,
            recipient: d.recipient,
            status: d.status,
            attempts: d.attempts,
            nextAttemptAt: d.nextAttemptAt,
            lastError: d.lastError,
          })),
        };
      },
    );

    app.post(
      '/api/admin/queue/:id/retry',
      {
        schema: {
          summary: 'Try a delivery again now',
          tags: ['admin'],
          params: QueueParams,
          response: { 204: NoContent, ...ADMIN_ERRORS },
        },
      },
      async (req, reply) => {
        await deliveries.retry((req.params as Static<typeof QueueParams>).id, adminActor(req));
        return reply.status(204).send();
      },
    );

    app.delete(
      '/api/admin/queue/:id',
      {
        schema: {
          summary: 'Drop a delivery (a pending forward is kept in its mailbox instead)',
          tags: ['admin'],
          params: QueueParams,
          response: { 204: NoContent, ...ADMIN_ERRORS },
        },
      },
      async (req, reply) => {
        await deliveries.drop((req.params as Static<typeof QueueParams>).id, adminActor(req));
        return reply.status(204).send();
      },
    );

    app.get(
      '/api/admin/audit',
      {
        schema: {
          summary: 'The audit trail, newest first, by mailbox, kind and time; paged by `before`',
          tags: ['admin'],
          querystring: AuditSearch,
          response: { 200: AuditReply, ...ADMIN_ERRORS },
        },
      },
      async (req) => ({
        records: await deps.store.queryAudit(req.query as Static<typeof AuditSearch>),
      }),
    );

    app.get(
      '/api/admin/status',
      {
        schema: {
          summary:
            'Version, uptime, the store and its size, disk space, the queue, each listener and its port, calls, IMAP sessions, the PBX registration, Exchange connections',
          tags: ['admin'],
          response: { 200: FullStatusReply, ...ADMIN_ERRORS },
        },
      },
      async () => status(),
    );

    app.get(
      '/api/admin/topology',
      {
        schema: {
          summary:
            'Each peer server: its role, whether it answers, the sync mail waiting for it; on a backup, its watch of the central',
          tags: ['admin'],
          response: { 200: TopologyReply, ...ADMIN_ERRORS },
        },
      },
      async () => {
        if (!topology) throw standalone();
        return topology();
      },
    );

    app.post(
      '/api/admin/topology/failback',
      {
        schema: {
          summary: 'On a backup: hand control back to the central once it answers again',
          tags: ['admin'],
          response: { 200: FailbackReply, ...ADMIN_ERRORS },
        },
      },
      async () => {
        if (!failback)
          throw new VoicegateError('INVALID_STATE', 'only a backup server hands control back');
        return { state: await failback() };
      },
    );

    app.get(
      '/api/admin/flows',
      {
        schema: {
          summary: 'The call flows file: where it is, when the flows in use were read, its check',
          tags: ['admin'],
          response: { 200: FlowsReply, ...ADMIN_ERRORS },
        },
      },
      async () => flows.current(),
    );

    app.post(
      '/api/admin/flows/check',
      {
        bodyLimit: 1_100_000,
        schema: {
          summary:
            'Check a flows file (the text posted, or the file in use): errors with their paths',
          tags: ['admin'],
          body: FlowsCheckBody,
          response: { 200: FlowsCheck, ...ADMIN_ERRORS },
        },
      },
      async (req) => {
        const { text } = (req.body ?? {}) as Static<typeof FlowsCheckBody>;
        return text === undefined ? (await flows.current()).check : flows.check(text);
      },
    );
  };
}

const standalone = (): VoicegateError =>
  new VoicegateError(
    'INVALID_STATE',
    'this server is standalone: set server.role and topology to join a network',
  );
