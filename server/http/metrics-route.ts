import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyPluginAsync } from 'fastify';

export interface MetricsDeps {
  /** The bearer token a scrape must send; null serves without one (a port of its own). */
  token: string | null;
  render(): Promise<{ contentType: string; body: string }>;
}

/** Compared as digests, so neither the length nor any prefix of the token leaks by timing. */
function sameToken(given: string, wanted: string): boolean {
  const digest = (s: string): Buffer => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(given), digest(wanted));
}

/** GET /metrics in Prometheus' text format, behind a bearer token on the web port. */
export function metricsRoute(deps: MetricsDeps): FastifyPluginAsync {
  return async (app) => {
    app.get('/metrics', { schema: { hide: true } }, async (req, reply) => {
      if (deps.token !== null) {
        const header = req.headers.authorization ?? '';
        const given = /^Bearer (.+)$/i.exec(header)?.[1] ?? '';
        if (!given || !sameToken(given, deps.token)) {
          return reply.code(401).header('WWW-Authenticate', 'Bearer realm="metrics"').send({
            error: 'UNAUTHENTICATED',
            message: 'metrics need the bearer token (metrics.token)',
          });
        }
      }
      const { contentType, body } = await deps.render();
      return reply
        .header('Content-Type', contentType)
        .header('Cache-Control', 'no-store')
        .send(body);
    });
  };
}
