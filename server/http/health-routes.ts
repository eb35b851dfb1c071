import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import type { ConnectionStats } from '../net/connection-limits.ts';

export interface HealthDeps {
  version: string;
  /** Whether the process can serve (store reachable); a reason when not. */
  readiness: () => Promise<string | null>;
  /** Connections open and refused (limits), per listener. */
  connections?: () => Record<string, ConnectionStats>;
  /** The phone's counts: calls now and refused (limits), outgoing calls the dial plan refused. */
  calls?: () => CallStats;
}

export interface CallStats {
  active: number;
  total: number;
  refused: number;
  refusedPerSource: number;
  dialAllowed: number;
  dialRefused: number;
}

const Status = Type.Object({ status: Type.String(), reason: Type.Optional(Type.String()) });
const Connections = Type.Record(
  Type.String(),
  Type.Object({
    active: Type.Integer(),
    refused: Type.Integer(),
    perAddress: Type.Integer(),
    total: Type.Integer(),
  }),
);
const Calls = Type.Object({
  active: Type.Integer(),
  total: Type.Integer(),
  refused: Type.Integer(),
  refusedPerSource: Type.Integer(),
  dialAllowed: Type.Integer(),
  dialRefused: Type.Integer(),
});
const Version = Type.Object({ name: Type.String(), version: Type.String(), node: Type.String() });

export function healthRoutes(deps: HealthDeps): FastifyPluginAsync {
  return async (app) => {
    app.get('/healthz', { schema: { response: { 200: Status } } }, async () => ({ status: 'ok' }));
    app.get(
      '/readyz',
      { schema: { response: { 200: Status, 503: Status } } },
      async (_req, reply) => {
        const reason = await deps.readiness();
        if (reason) return reply.status(503).send({ status: 'unavailable', reason });
        return { status: 'ready' };
      },
    );
    app.get(
      '/healthz/connections',
      { schema: { response: { 200: Connections } } },
      async () => deps.connections?.() ?? {},
    );
    const calls = deps.calls;
    if (calls)
      app.get('/healthz/calls', { schema: { response: { 200: Calls } } }, async () => calls());
    app.get('/api/version', { schema: { response: { 200: Version } } }, async () => ({
      name: 'voicegate',
      version: deps.version,
      node: process.version,
    }));
  };
}
