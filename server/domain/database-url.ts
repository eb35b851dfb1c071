import { VoicegateError } from './errors.ts';

/** Which server of several a node keeps: any that answers, or one that takes writes. */
export type SessionTarget = 'any' | 'read-write' | 'primary';

const TARGETS: readonly string[] = ['any', 'read-write', 'primary'] satisfies SessionTarget[];

/** One server of the URL's host list. */
export interface DatabaseHost {
  host: string;
  port: number;
  /** The URL naming this server alone, with the list's user, database and parameters. */
  url: string;
}

export interface DatabaseUrl {
  hosts: DatabaseHost[];
  target: SessionTarget;
}

/**
 * A PostgreSQL URL in libpq's form, with one host or several:
 * `postgresql://USER:PASSWORD@h1:5432,h2:5433/DB?target_session_attrs=read-write`. Checked by the
 * config at start-up and used by the store, which tries the hosts in turn. Voicegate writes, so
 * with several hosts it keeps one that takes writes unless `target_session_attrs=any` says
 * otherwise; `read-only`, `standby` and `prefer-standby` are refused. Errors never repeat the
 * URL (it may hold a password).
 */
export function parseDatabaseUrl(text: string): DatabaseUrl {
  const m = /^(postgres(?:ql)?:\/\/)(?:([^@/?#]*)@)?([^/?#]*)([^?#]*)(?:\?([^#]*))?$/i.exec(text);
  if (!m)
    throw new VoicegateError(
      'INVALID_INPUT',
      /^[a-z][a-z0-9+.-]*:\/\//i.test(text)
        ? `expected postgresql://..., not ${text.split('//')[0]}//...`
        : 'not a URL',
    );
  const [, scheme, userInfo, authority, path, query = ''] = m as unknown as string[];
  const params = new URLSearchParams(query);
  const asked = params.get('target_session_attrs');
  params.delete('target_session_attrs');
  const parts = authority === '' ? [] : authority!.split(',');
  if (parts.length === 0) throw new VoicegateError('INVALID_INPUT', 'no host in the URL');
  if (asked !== null && !TARGETS.includes(asked))
    throw new VoicegateError(
      'INVALID_INPUT',
      `target_session_attrs must be ${TARGETS.join(', ')} (Voicegate writes), not "${asked}"`,
    );
  const target = (asked ?? (parts.length > 1 ? 'read-write' : 'any')) as SessionTarget;
  const rest = `${path}${params.size > 0 ? `?${params.toString()}` : ''}`;
  const hosts = parts.map((part, i) => {
    const h = /^(\[[0-9a-f:.]+\]|[^:[\]]+)(?::(\d{1,5}))?$/i.exec(part);
    const port = Number(h?.[2] ?? 5432);
    if (!h || port < 1 || port > 65535)
      throw new VoicegateError(
        'INVALID_INPUT',
        `host ${i + 1} of the URL is not HOST or HOST:PORT (a port from 1 to 65535)`,
      );
    const host = decodeURIComponent(h[1]!.replace(/^\[(.*)\]$/, '$1'));
    const url = `${scheme}${userInfo === undefined ? '' : `${userInfo}@`}${h[1]}:${port}${rest}`;
    return { host, port, url };
  });
  return { hosts, target };
}

/** Where the store is, for messages: `h1:5432,h2:5433/voicegate`, never the user or password. */
export function describeDatabaseUrl(text: string): string {
  try {
    const { hosts } = parseDatabaseUrl(text);
    const db = /^[^/]*\/\/[^/?#]*(\/[^?#]*)?/.exec(text)?.[1] ?? '';
    return `${hosts.map((h) => `${h.host}:${h.port}`).join(',')}${db}`;
  } catch {
    return 'the configured server';
  }
}
