import Fastify, { LogController, type FastifyInstance } from 'fastify';
import type { Logger } from '../log.ts';
import { registerErrorHandler } from './errors.ts';
import { healthRoutes, type HealthDeps } from './health-routes.ts';

export interface HttpDeps extends HealthDeps {
  log: Logger;
  https?: { key: Buffer; cert: Buffer };
}

/** Builds the HTTP app without listening, so tests can `inject` into it. */
export async function buildApp(deps: HttpDeps): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: deps.log.child({ proto: 'http' }),
    // Per-request lines would flood the log; errors are logged by the error handler.
    logController: new LogController({ disableRequestLogging: true }),
    ...(deps.https ? { https: { ...deps.https, minVersion: 'TLSv1.2' as const } } : {}),
  }) as unknown as FastifyInstance;
  registerErrorHandler(app);
  await app.register(healthRoutes(deps));
  return app;
}
