import type { LoadedConfig } from '../config/load.ts';
import type { Context } from '../context.ts';
import type { RunOnce } from '../domain/run-once.ts';
import type { Logger } from '../log.ts';
import type { ConnectionStats } from '../net/connection-limits.ts';
import type { Phone } from '../telephony/phone.ts';
import type { Monitor } from './monitor-part.ts';
import type { FailoverWatcher } from '../peers/failover-watcher.ts';
import type { Partition } from './partition.ts';
import { VoicegateError } from '../domain/errors.ts';

/** The parts a server process may run, in the order they start. */
export const PART_NAMES = [
  'sip',
  'http',
  'imap',
  'smtp-in',
  'delivery',
  'housekeeping',
  'backup',
  'exchange-sync',
  'monitor',
  'failover',
] as const;
export type PartName = (typeof PART_NAMES)[number];

/**
 * One part of the process. Building it checks its configuration and binds nothing; `listen`
 * opens its sockets or starts its timers; `close` ends its own sessions and timers, whether it
 * listened or not.
 */
export interface Part {
  listen(): Promise<void>;
  close(): Promise<void>;
  /** The ports it bound, by name (`http`, `imap`, `imaps`, `smtp`), once it listens. */
  ports?(): Record<string, number>;
}

/** What the parts share: built once per process by the composition root. */
export interface Wiring {
  loaded: LoadedConfig;
  context: Context;
  log: Logger;
  tls: { key: Buffer; cert: Buffer };
  /** Whether this node runs the installation's once-only work. */
  once: RunOnce;
  /** The web address, known once the HTTP part listens (a port of 0 picks a free one). */
  urls: { http?: string };
  /** Each listener's connection counts, by name, for /healthz/connections. */
  listeners: Record<string, () => ConnectionStats>;
  /** The phone part, when the role runs one (HTTP shows its calls and plays on phones). */
  phone?: Phone;
  version: string;
  /** Metrics and alarms, built by the first part that needs them (compose/monitor-part.ts). */
  monitor?: Monitor;
  /** On a backup: its watch of the central (whether it is live, failback). */
  failover?: FailoverWatcher;
  /** Who sends lamps and e-mail during a partition (`server/domain/partition.ts`). */
  partition?: Partition;
  /** The port each listener bound (http, imap, imaps, smtp, sip, metrics), once all listen. */
  ports?: Record<string, number>;
  /** The syslog sink the process's logger writes to, when `syslog.target` is set. */
  syslog?: { stats(): { sent: number; dropped: number } };
}

/** A listener that cannot bind names the config key to change. */
export function listenError(err: unknown, key: string, host: string, port: number): unknown {
  const code = (err as NodeJS.ErrnoException).code;
  const section = key.split('.')[0];
  if (code === 'EADDRINUSE')
    return new VoicegateError(
      'UNAVAILABLE',
      `${host}:${port} is in use: set ${key} (or ${section}.host) to a free one`,
    );
  if (code === 'EACCES')
    return new VoicegateError(
      'FORBIDDEN',
      `no permission to listen on ${host}:${port}: ports below 1024 need root; set ${key}`,
    );
  if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND')
    return new VoicegateError(
      'INVALID_INPUT',
      `${section}.host "${host}" is not an address of this machine`,
    );
  return err;
}
