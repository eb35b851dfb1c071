import type { FastifyError, FastifyInstance, FastifyRequest } from 'fastify';
import { isVoicegateError, type ErrorCode } from '../domain/errors.ts';

export const HTTP_STATUS: Record<ErrorCode, number> = {
  NOT_FOUND: 404,
  ALREADY_EXISTS: 409,
  INVALID_INPUT: 400,
  INVALID_STATE: 409,
  FORBIDDEN: 403,
  AUTH_FAILED: 401,
  UNAUTHENTICATED: 401,
  TOO_SHORT: 422,
  TOO_LONG: 413,
  BAD_AUDIO: 415,
  STORAGE_FULL: 507,
  UNAVAILABLE: 503,
  INTERNAL: 500,
};

/**
 * A 5xx's details, for the log only: the route (its pattern, never the path or query, which may
 * hold a caller's name or number) names the request, since there is no per-request log line.
 */
function logFailure(req: FastifyRequest, err: unknown): void {
  req.log.error({ err, method: req.method, route: req.routeOptions.url }, 'request failed');
}

/** One error handler: domain codes map to statuses; 5xx details go to the log, never to the client. */
export function registerErrorHandler(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError, req, reply) => {
    if (isVoicegateError(err)) {
      const status = HTTP_STATUS[err.code];
      if (status >= 500) logFailure(req, err);
      // Domain messages are written for users; only an internal error's is hidden.
      const message = err.code === 'INTERNAL' ? 'internal error' : err.message;
      return reply.status(status).send({ error: err.code, message });
    }
    if (err.validation)
      return reply
        .status(400)
        .send({ error: 'INVALID_INPUT', message: err.message, field: invalidField(err) });
    const status =
      err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
    if (status >= 500) logFailure(req, err);
    return reply.status(status).send({
      error: status >= 500 ? 'INTERNAL' : 'INVALID_INPUT',
      message: status >= 500 ? 'internal error' : err.message,
    });
  });
  app.setNotFoundHandler((_req, reply) =>
    reply.status(404).send({ error: 'NOT_FOUND', message: 'no such resource' }),
  );
}

/** The field a schema refused, as a dotted path (`breakouts.0`), so a form can point at it. */
function invalidField(err: FastifyError): string | undefined {
  const v = err.validation?.[0] as
    { instancePath?: string; params?: Record<string, unknown> } | undefined;
  if (!v) return undefined;
  const path = (v.instancePath ?? '').split('/').filter(Boolean);
  const extra = v.params?.missingProperty ?? v.params?.additionalProperty;
  if (typeof extra === 'string') path.push(extra);
  return path.join('.') || undefined;
}
