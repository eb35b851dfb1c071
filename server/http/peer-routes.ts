import { Type, type Static } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import { signBeat } from '../domain/peer-trust.ts';

/** What the heartbeat endpoint needs: this server's name and the secret of each peer. */
export interface PeerBeatDeps {
  self: string;
  /** The secret shared with a configured peer, or null for anyone else. */
  secretOf(peer: string): string | null;
  /** Sync mail waiting here for that peer (the queue depth the other way). */
  queuedFor?(peer: string): Promise<number>;
}

const BeatQuery = Type.Object({
  asker: Type.String({ minLength: 1, maxLength: 200 }),
  nonce: Type.String({ pattern: '^[0-9a-f]{32}$' }),
});
const Beat = Type.Object({
  peer: Type.String(),
  asker: Type.String(),
  nonce: Type.String(),
  at: Type.Integer(),
  queued: Type.Integer(),
});
const Refused = Type.Object({
  error: Type.Object({ code: Type.String(), message: Type.String() }),
});

/**
 * `GET /api/peer/heartbeat`: a peer's heartbeat, answered only to a configured peer, signed
 * with the secret shared with it over its own nonce (`server/domain/peer-trust.ts`).
 */
export function peerRoutes(deps: PeerBeatDeps): FastifyPluginAsync {
  return async (app) => {
    app.get(
      '/api/peer/heartbeat',
      {
        schema: {
          hide: true,
          querystring: BeatQuery,
          response: { 200: Beat, 403: Refused },
        },
      },
      async (req, reply) => {
        const { asker, nonce } = req.query as Static<typeof BeatQuery>;
        const secret = deps.secretOf(asker);
        if (secret === null)
          return reply.status(403).send({
            error: { code: 'FORBIDDEN', message: `"${asker}" is not a configured peer` },
          });
        const facts = { peer: deps.self, asker, nonce, at: Date.now() };
        const queued = (await deps.queuedFor?.(asker)) ?? 0;
        reply.header('x-voicegate-signature', signBeat(secret, facts));
        return { ...facts, queued };
      },
    );
  };
}
