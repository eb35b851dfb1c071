import { readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import { createContext, packageVersion, type Context } from './context.ts';
import type { LoadedConfig } from './config/load.ts';
import { ensureSelfSignedCert } from './config/tls-cert.ts';
import type { RunOnce } from './domain/run-once.ts';
import { openRunOnce } from './store/open-store.ts';
import type { Logger } from './log.ts';
import type { Phone } from './telephony/phone.ts';
import type { Part, PartName, Wiring } from './compose/part.ts';
import { PART_BUILDERS } from './compose/parts.ts';
import { partsOf, roleOnce } from './compose/roles.ts';
import { buildFailoverWatcher } from './compose/failover-part.ts';
import { buildPartition } from './compose/partition.ts';
import type { FailoverWatcher } from './peers/failover-watcher.ts';

export interface RunningServer {
  context: Context;
  http: FastifyInstance;
  /** The addresses actually bound (a port of 0 in the config picks a free one). */
  urls: { http: string };
  ports: { http: number; imap: number; imaps: number; smtp: number; sip: number; metrics: number };
  phone: Phone;
  /** Closes every part at once, then the store; each part ends its own sessions and timers. */
  close(): Promise<void>;
  /** The parts whose close has not finished yet (named for the log of a shutdown that hangs). */
  closing(): string[];
}

export interface BuiltServer {
  context: Context;
  /** The parts of the role, built and not listening yet, in the order they start. */
  parts: ReadonlyMap<PartName, Part>;
  /** Starts every part in order; a part that cannot start closes the whole server. */
  listen(): Promise<RunningServer>;
  close(): Promise<void>;
  closing(): string[];
}

/**
 * Builds the parts `server.role` runs (compose/roles.ts), each from the same store and services;
 * nothing binds a socket or starts a timer until `listen`. `once` answers whether this node runs
 * the installation's once-only work: by default, yes for the embedded store, and for nodes
 * sharing a PostgreSQL store, the holder of its leader lease.
 */
export async function buildServer(
  loaded: LoadedConfig,
  log: Logger,
  opts: { once?: RunOnce; syslog?: Wiring['syslog'] } = {},
): Promise<BuiltServer> {
  const { config } = loaded;
  const names = partsOf(config.server.role);
  // A backup's watch of its central, asked by the deposits and the once-only seam alike.
  let failover: FailoverWatcher | null = null;
  const context = await createContext(loaded, log, {
    sweep: true,
    keepsMessages: () => failover?.isLive() ?? false,
  });
  failover = buildFailoverWatcher(loaded, context, log, () => wiring);
  // Nodes sharing one store elect who runs the once-only work; a single node runs it all.
  const lease = opts.once
    ? null
    : await openRunOnce(
        { store: config.store, dataDir: loaded.dataDir },
        {
          onChange: (leader) =>
            log.info({ leader }, leader ? 'leading the nodes' : 'no longer leading'),
        },
      ).catch(async (err: unknown) => {
        await context.close();
        throw err;
      });
  // Who sends lamps and e-mail when central and backup cannot reach each other.
  const partition = buildPartition(loaded, log, () => failover?.isLive() ?? false);
  const once: RunOnce = roleOnce(
    config.server.role,
    opts.once ?? lease!,
    () => failover?.isLive() ?? false,
    () => partition.sends().lamps,
  );
  const parts = new Map<PartName, Part>();
  const pending = new Set<string>();
  // A last-resort net, not the fix: every path a peer can reach contains its own failures, but a
  // promise some future change forgets would otherwise end every call and session at once.
  // Only rejections: after a synchronous throw escaped, state may be half-changed, so an
  // uncaught exception still ends the process.
  const onUnhandled = (err: unknown): void =>
    log.error({ err }, 'unhandled promise rejection (a bug): serving on');
  process.on('unhandledRejection', onUnhandled);
  // The parts close side by side, so one slow part does not add its delay to the others'; the
  // store last, once nothing writes to it any more.
  const closeAll = async (): Promise<void> => {
    const closing = [...parts].reverse();
    parts.clear();
    await Promise.all(
      closing.map(async ([name, part]) => {
        pending.add(name);
        try {
          await part.close();
        } catch (err) {
          log.warn({ err, part: name }, 'closing failed');
        } finally {
          pending.delete(name);
        }
      }),
    );
    pending.add('store');
    process.off('unhandledRejection', onUnhandled);
    await lease?.close();
    await context.close();
    pending.delete('store');
  };
  let closed: Promise<void> | undefined;
  const close = (): Promise<void> => (closed ??= closeAll());

  const wiring: Wiring = {
    loaded,
    context,
    log,
    tls: { key: Buffer.alloc(0), cert: Buffer.alloc(0) },
    once,
    urls: {},
    listeners: {},
    version: packageVersion(),
    syslog: opts.syslog,
    ...(failover ? { failover } : {}),
    partition,
  };
  try {
    if (await ensureSelfSignedCert(loaded.tlsCert, loaded.tlsKey, config.server.domain)) {
      log.info({ cert: loaded.tlsCert }, 'created a self-signed TLS certificate');
    }
    wiring.tls = { key: readFileSync(loaded.tlsKey), cert: readFileSync(loaded.tlsCert) };
    for (const name of names) parts.set(name, await PART_BUILDERS[name](wiring));
  } catch (err) {
    await close();
    throw err;
  }

  const listen = async (): Promise<RunningServer> => {
    try {
      for (const part of parts.values()) await part.listen();
    } catch (err) {
      await close();
      throw err;
    }
    const ports = {
      http: portOf(parts.get('http'), 'http'),
      imap: portOf(parts.get('imap'), 'imap'),
      imaps: portOf(parts.get('imap'), 'imaps'),
      smtp: portOf(parts.get('smtp-in'), 'smtp'),
      sip: wiring.phone?.port ?? 0,
      metrics: portOf(parts.get('monitor'), 'metrics'),
    };
    wiring.ports = ports;
    log.info(
      { url: wiring.urls.http, ports, dataDir: loaded.dataDir, role: config.server.role },
      'voicegate serving',
    );
    const http = (parts.get('http') as { http?: FastifyInstance } | undefined)?.http;
    return {
      context,
      get http(): FastifyInstance {
        if (!http) throw new Error(`role ${config.server.role} runs no HTTP part`);
        return http;
      },
      urls: { http: wiring.urls.http ?? '' },
      ports,
      get phone(): Phone {
        if (!wiring.phone) throw new Error(`role ${config.server.role} runs no phone part`);
        return wiring.phone;
      },
      close,
      closing: () => [...pending],
    };
  };
  return { context, parts, listen, close, closing: () => [...pending] };
}

/** The port a part bound, by the name it reports it under; 0 when the role does not run it. */
function portOf(part: Part | undefined, name: string): number {
  return part?.ports?.()[name] ?? 0;
}

/** Builds the role's parts and starts them: the whole process. */
export async function startServer(
  loaded: LoadedConfig,
  log: Logger,
  opts: { syslog?: Wiring['syslog'] } = {},
): Promise<RunningServer> {
  return (await buildServer(loaded, log, opts)).listen();
}
