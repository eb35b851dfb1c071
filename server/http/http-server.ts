import { createServer as createHttpServer, type RequestListener, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Logger } from '../log.ts';
import {
  ConnectionLimits,
  type ConnectionStats,
  type LimitsConfig,
} from '../net/connection-limits.ts';

export interface HttpListener {
  /** Fastify's `serverFactory`: the server Fastify serves on, limits and deadlines included. */
  serverFactory: (handler: RequestListener) => Server;
  stats(): ConnectionStats;
  /** Closes what is left (sockets still in their TLS handshake) at shutdown. */
  destroyAll(): void;
}

/**
 * The web listener's server, made here rather than by Fastify so that it gets the limits:
 * - at most `perAddress` connections per client address and `total` in all (beyond them the
 *   socket is closed at once; plain HTTP gets a 503 first);
 * - the TLS handshake within `handshakeSeconds`, then the request headers within as long
 *   again, and a whole request (headers and body) within `preAuthSeconds`, so a slowloris
 *   sending a byte at a time is cut;
 * - keep-alive connections idle for 5 s are closed.
 * A response is never cut: the server-sent events stream of a logged-in page (`/api/events`)
 * stays open, since its request was complete when it began.
 */
export function httpListener(opts: {
  https?: { key: Buffer; cert: Buffer };
  limits: LimitsConfig;
  log: Logger;
}): HttpListener {
  const limits = new ConnectionLimits(opts.https ? 'https' : 'http', opts.limits, opts.log);
  const { handshakeSeconds, preAuthSeconds } = opts.limits;
  const timeouts = {
    headersTimeout: handshakeSeconds * 1000,
    requestTimeout: Math.max(preAuthSeconds, handshakeSeconds) * 1000,
    keepAliveTimeout: 5000,
    // How often Node looks for requests past those timeouts (30 s by default).
    connectionsCheckingInterval: 1000,
  };
  return {
    serverFactory: (handler) => {
      const server = opts.https
        ? createHttpsServer(
            {
              ...opts.https,
              minVersion: 'TLSv1.2',
              handshakeTimeout: handshakeSeconds * 1000,
              ...timeouts,
            },
            handler,
          )
        : createHttpServer(timeouts, handler);
      server.keepAliveTimeout = timeouts.keepAliveTimeout;
      limits.guard(server, {
        refuse: opts.https
          ? undefined
          : (socket) =>
              socket.write(
                'HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n',
              ),
      });
      return server;
    },
    stats: () => limits.stats(),
    destroyAll: () => limits.destroyAll(),
  };
}
