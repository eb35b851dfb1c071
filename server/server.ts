import { readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import { createContext, packageVersion, type Context } from './context.ts';
import type { LoadedConfig } from './config/load.ts';
import { ensureSelfSignedCert } from './config/tls-cert.ts';
import { startHousekeeping } from './housekeeping-scheduler.ts';
import { buildApp } from './http/app.ts';
import type { Logger } from './log.ts';
import { VoicegateError } from './domain/errors.ts';

/** A listener that cannot bind names the config keys to change. */
function listenError(err: unknown, section: string, host: string, port: number): unknown {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'EADDRINUSE')
    return new VoicegateError(
      'UNAVAILABLE',
      `${host}:${port} is in use: set ${section}.port (or ${section}.host) to a free one`,
    );
  if (code === 'EACCES')
    return new VoicegateError(
      'FORBIDDEN',
      `no permission to listen on ${host}:${port}: ports below 1024 need root; set ${section}.port`,
    );
  if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND')
    return new VoicegateError(
      'INVALID_INPUT',
      `${section}.host "${host}" is not an address of this machine`,
    );
  return err;
}

export interface RunningServer {
  context: Context;
  http: FastifyInstance;
  /** The addresses actually bound (a port of 0 in the config picks a free one). */
  urls: { http: string };
  close(): Promise<void>;
}

/** Starts every listener of the process. Protocol adapters (IMAP, SIP, SMTP) join here. */
export async function startServer(loaded: LoadedConfig, log: Logger): Promise<RunningServer> {
  const { config } = loaded;
  const context = createContext(loaded, log, { sweep: true });
  let https: { key: Buffer; cert: Buffer } | undefined;
  if (config.http.tls) {
    if (await ensureSelfSignedCert(loaded.tlsCert, loaded.tlsKey, config.server.domain)) {
      log.info({ cert: loaded.tlsCert }, 'created a self-signed TLS certificate');
    }
    https = { key: readFileSync(loaded.tlsKey), cert: readFileSync(loaded.tlsCert) };
  }
  const http = await buildApp({
    log,
    https,
    version: packageVersion(),
    readiness: async () => {
      try {
        context.store.db.prepare('SELECT 1').get();
        return null;
      } catch (err) {
        return `store unavailable: ${(err as Error).message}`;
      }
    },
  });
  try {
    await http.listen({ host: config.http.host, port: config.http.port });
  } catch (err) {
    await context.close();
    throw listenError(err, 'http', config.http.host, config.http.port);
  }
  const address = http.server.address();
  const port = typeof address === 'object' && address ? address.port : config.http.port;
  const host = config.http.host.includes(':') ? `[${config.http.host}]` : config.http.host;
  const urls = { http: `${config.http.tls ? 'https' : 'http'}://${host}:${port}` };
  const stopHousekeeping = startHousekeeping(
    context.messages,
    config.housekeeping.intervalMinutes,
    log,
  );
  log.info(
    { url: urls.http, dataDir: loaded.dataDir, role: config.server.role },
    'voicegate serving',
  );

  let closing: Promise<void> | undefined;
  return {
    context,
    http,
    urls,
    close: () =>
      (closing ??= (async () => {
        stopHousekeeping();
        await http.close();
        await context.close();
      })()),
  };
}
