import { existsSync } from 'node:fs';
import { constants as zlib } from 'node:zlib';
import compress from '@fastify/compress';
import cookie from '@fastify/cookie';
import fastifyStatic from '@fastify/static';
import swagger from '@fastify/swagger';
import Fastify, { LogController, type FastifyInstance } from 'fastify';
import type { Logger } from '../log.ts';
import type { ApiDeps } from './deps.ts';
import { registerErrorHandler } from './errors.ts';
import { healthRoutes, type HealthDeps } from './health-routes.ts';
import { metricsRoute, type MetricsDeps } from './metrics-route.ts';
import type { HttpListener } from './http-server.ts';
import { audioRoutes } from './routes/audio-routes.ts';
import { authRoutes } from './routes/auth-routes.ts';
import { eventRoutes } from './routes/events-routes.ts';
import { greetingRoutes } from './routes/greeting-routes.ts';
import { messageRoutes } from './routes/message-routes.ts';
import { settingsRoutes } from './routes/settings-routes.ts';
import { SHARED_SCHEMAS } from './schemas.ts';
import { ADMIN_SCHEMAS } from './admin-schemas.ts';
import { ADMIN_SETTINGS_SCHEMAS } from './admin-settings-schemas.ts';
import { adminRoutes } from './routes/admin-routes.ts';
import { registerSessions } from './session.ts';
import { peerRoutes, type PeerBeatDeps } from './peer-routes.ts';

export interface HttpDeps extends HealthDeps {
  log: Logger;
  https?: { key: Buffer; cert: Buffer };
  /** The web API; without it only the health endpoints are served. */
  api?: ApiDeps;
  /** The built web app (web/dist), served at `/` when present. */
  webRoot?: string;
  /** Makes the server to serve on (`httpListener`: connection limits and deadlines). */
  serverFactory?: HttpListener['serverFactory'];
  /** Reverse proxies whose X-Forwarded-For names the client (`req.ip`); false: none. */
  trustProxy?: false | ((address: string) => boolean);
  /** Prometheus /metrics on this port (behind its token), when configured so. */
  metrics?: MetricsDeps;
  /** The heartbeat peers ask (server.role central), when this server has peers. */
  peer?: PeerBeatDeps;
}

const SECURITY_HEADERS = {
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'X-Frame-Options': 'DENY',
  'Content-Security-Policy':
    "default-src 'self'; img-src 'self' data:; media-src 'self' blob:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'",
};

/** JSON bodies are small; the one larger body, a greeting upload, sets its own limit. */
const BODY_LIMIT = 64 * 1024;
/** Under TLS only: behind a plain-HTTP proxy, the proxy decides. */
const HSTS = { 'Strict-Transport-Security': 'max-age=31536000' };

/** Builds the HTTP app without listening, so tests can `inject` into it. */
export async function buildApp(deps: HttpDeps): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: deps.log.child({ proto: 'http' }),
    // Per-request lines would flood the log; errors are logged by the error handler.
    logController: new LogController({ disableRequestLogging: true }),
    // No child logger per request: with request lines off its request id would name nothing,
    // and pino runs the redaction over its bindings each time (~40 KB of garbage a request).
    childLoggerFactory: (logger) => logger,
    // Unknown fields are an error, not silently dropped (querystrings still coerce to types).
    bodyLimit: BODY_LIMIT,
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array' } },
    ...(deps.https ? { https: { ...deps.https, minVersion: 'TLSv1.2' as const } } : {}),
    ...(deps.serverFactory ? { serverFactory: deps.serverFactory } : {}),
    trustProxy: deps.trustProxy ?? false,
  }) as unknown as FastifyInstance;
  registerErrorHandler(app);
  const headers = deps.https ? { ...SECURITY_HEADERS, ...HSTS } : SECURITY_HEADERS;
  app.addHook('onSend', async (_req, reply) => {
    reply.headers(headers);
  });
  // JSON and the app's text, never audio (already dense) nor the event stream (hijacked). Brotli
  // at a quality that costs well under a millisecond for a page of messages, in one call up to
  // the largest page (200 messages): a compression stream per answer cost a page ~3 ms more CPU,
  // and its encoder's native memory, several MB each, drove V8 to full collections that stalled
  // every request (test/bench/README.md, "Where a web page's time goes").
  await app.register(compress, {
    threshold: 1024,
    encodings: ['br', 'gzip'],
    customTypes: /^(application\/json|text\/(html|css|javascript)|application\/javascript)/,
    brotliOptions: { params: { [zlib.BROTLI_PARAM_QUALITY]: 4 } },
    syncThreshold: 131_072,
  });
  await app.register(healthRoutes(deps));
  if (deps.metrics) await app.register(metricsRoute(deps.metrics));
  if (deps.peer) await app.register(peerRoutes(deps.peer));
  if (deps.api) {
    await app.register(cookie);
    registerSessions(app);
    await app.register(swagger, {
      openapi: {
        info: { title: 'Voicegate web API', version: deps.version },
        components: {
          securitySchemes: { session: { type: 'apiKey', in: 'cookie', name: 'vg_session' } },
        },
      },
      // Shared schemas appear under their own names (Message, Mailbox...), not def-0, def-1.
      refResolver: {
        buildLocalReference: (json, _base, _fragment, i) => String(json.$id ?? `def-${i}`),
      },
    });
    for (const schema of SHARED_SCHEMAS) app.addSchema(schema);
    for (const routes of [
      authRoutes,
      messageRoutes,
      audioRoutes,
      greetingRoutes,
      settingsRoutes,
      eventRoutes,
    ]) {
      await app.register(routes(deps.api));
    }
    if (deps.api.admin) {
      for (const schema of [...ADMIN_SCHEMAS, ...ADMIN_SETTINGS_SCHEMAS]) app.addSchema(schema);
      await app.register(adminRoutes({ ...deps.api, admin: deps.api.admin }));
    }
    app.get('/api/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  }
  if (deps.webRoot && existsSync(deps.webRoot)) {
    await app.register(fastifyStatic, {
      root: deps.webRoot,
      index: 'index.html',
      wildcard: false,
      cacheControl: false,
      // Built assets have a content hash in their names: cache them for good; never the page.
      setHeaders: (res, path) =>
        res.header(
          'Cache-Control',
          path.includes('/assets/') ? 'public, max-age=31536000, immutable' : 'no-cache',
        ),
    });
  }
  return app;
}
