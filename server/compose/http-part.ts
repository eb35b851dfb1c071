import type { FastifyInstance } from 'fastify';
import { fileURLToPath } from 'node:url';
import { addressList } from '../domain/address-list.ts';
import { buildApp } from '../http/app.ts';
import { httpListener } from '../http/http-server.ts';
import { WebSessions } from '../http/session.ts';
import { hasCommand } from '../tools.ts';
import { buildMonitor } from './monitor-part.ts';
import { adminStatus } from './admin-status.ts';
import { peerSetOf } from './peers.ts';
import { failoverView, topologyStatus } from '../peers/topology-status.ts';
import { adminFlows } from './admin-flows.ts';
import { listenError, type Part, type Wiring } from './part.ts';

/** The web voicemail, its JSON API and the health endpoints. */
export async function buildHttpPart(w: Wiring): Promise<Part & { http: FastifyInstance }> {
  const { config } = w.loaded;
  const { context } = w;
  const https = config.http.tls ? w.tls : undefined;
  const proxies = addressList('http.trustProxy', config.http.trustProxy);
  const web = httpListener({
    https,
    limits: { ...config.limits, shared: proxies },
    log: w.log.child({ proto: 'http' }),
  });
  const phone = w.phone;
  const peers = peerSetOf(w.loaded);
  // /metrics on this port when it has no port of its own: always behind the token.
  const metrics =
    config.metrics.enabled && !config.metrics.listen
      ? (w.monitor ??= await buildMonitor(w)).metrics
      : null;
  const http = await buildApp({
    log: w.log,
    https,
    serverFactory: web.serverFactory,
    trustProxy: config.http.trustProxy.length ? (address: string) => proxies(address) : false,
    connections: () =>
      Object.fromEntries(Object.entries(w.listeners).map(([name, stats]) => [name, stats()])),
    calls: phone
      ? () => {
          const { active, total, refused, refusedPerSource } = phone.counter.stats();
          const dial = phone.dialler.stats();
          return {
            active,
            total,
            refused,
            refusedPerSource,
            dialAllowed: dial.allowed,
            dialRefused: dial.refused,
          };
        }
      : undefined,
    version: w.version,
    api: {
      mailboxes: context.mailboxes,
      messages: context.messages,
      store: context.store,
      audio: context.audio,
      sessions: new WebSessions({
        store: context.store,
        idleMinutes: config.http.sessionIdleMinutes,
        secureCookie: config.http.tls,
      }),
      tools: { ffmpeg: hasCommand('ffmpeg'), sox: hasCommand('sox') },
      observe: context.observers.emit,
      phone: phone && {
        playOnPhone: (mailbox, id, to) => phone.playOnPhone.call(mailbox, id, to),
        reach: (mailbox) => phone.playOnPhone.reach(mailbox),
      },
      admin: {
        admins: context.admins,
        deliveries: context.deliveries,
        mailboxSettings: context.mailboxSettings,
        status: adminStatus(
          context,
          w.version,
          () => ({
            listeners: Object.fromEntries(
              Object.entries(w.listeners).map(([name, stats]) => [name, stats()]),
            ),
            calls: phone ? phone.counter.stats() : null,
          }),
          {
            listeners: w.listeners,
            ports: () => w.ports,
            calls: phone ? () => phone.counter.stats() : undefined,
          },
        ),
        flows: adminFlows(context, () => w.phone?.flows),
        ...(peers
          ? {
              topology: async () => {
                const failover = w.failover;
                const witness = w.partition?.witness;
                const url = config.topology.failover.witness;
                return topologyStatus(peers, config.server.role, await context.deliveries.list(), {
                  failover: failover
                    ? failoverView(
                        failover.status(),
                        failover.status(),
                        witness && url ? { url, view: witness.view() } : undefined,
                      )
                    : null,
                });
              },
            }
          : {}),
        ...(w.failover ? { failback: () => w.failover!.failback() } : {}),
      },
    },
    webRoot: fileURLToPath(new URL('../../web/dist', import.meta.url)),
    readiness: () => context.health(),
    metrics: metrics ? { token: config.metrics.token, render: () => metrics.render() } : undefined,
    peer: peers
      ? {
          self: peers.self.name,
          secretOf: (name) => peers.get(name)?.secret ?? null,
          queuedFor: async (name) =>
            (await context.deliveries.list()).filter(
              (d) => d.target === 'peer' && d.payload?.peer === name && d.status === 'pending',
            ).length,
        }
      : undefined,
  });
  let listening = false;
  let port = 0;
  return {
    http,
    listen: async () => {
      try {
        await http.listen({ host: config.http.host, port: config.http.port });
      } catch (err) {
        throw listenError(err, 'http.port', config.http.host, config.http.port);
      }
      listening = true;
      const address = http.server.address();
      port = typeof address === 'object' && address ? address.port : config.http.port;
      const host = config.http.host.includes(':') ? `[${config.http.host}]` : config.http.host;
      w.urls.http = `${config.http.tls ? 'https' : 'http'}://${host}:${port}`;
      w.listeners.http = () => web.stats();
    },
    close: async () => {
      if (!listening) return void (await http.close());
      // Fastify closes idle keep-alive connections and the event streams (their preClose hook);
      // a request still running gets a moment, then every socket goes, including those still in
      // their TLS handshake, which are no requests Fastify could close.
      const stragglers = setTimeout(() => {
        http.server.closeAllConnections();
        web.destroyAll();
      }, 1000);
      await http.close();
      clearTimeout(stragglers);
    },
    ports: () => ({ http: port }),
  };
}
