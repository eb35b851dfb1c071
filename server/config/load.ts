import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { Value } from '@sinclair/typebox/value';
import YAML from 'yaml';
import { parseDatabaseUrl } from '../domain/database-url.ts';
import { VoicegateError } from '../domain/errors.ts';
import { ConfigSchema, SECRET_KEY, type Config } from './schema.ts';
import { exchangeConfigProblem } from './exchange.ts';
import { topologyConfigProblem } from './topology.ts';

/** A validated config plus where it came from; paths in it are resolved against its folder. */
export interface LoadedConfig {
  config: Config;
  file: string;
  dataDir: string;
  tlsCert: string;
  tlsKey: string;
}

export class ConfigError extends VoicegateError {
  constructor(message: string) {
    super('INVALID_INPUT', message);
    this.name = 'ConfigError';
  }
}

/** `a.b.c=value` overrides; the value is read as YAML, so numbers and booleans keep their type. */
export function applyOverrides(raw: Record<string, unknown>, sets: string[]): void {
  for (const set of sets) {
    const eq = set.indexOf('=');
    if (eq <= 0) throw new ConfigError(`--set "${set}": expected key=value, e.g. http.port=8080`);
    const path = set.slice(0, eq).split('.');
    const text = set.slice(eq + 1);
    let value: unknown;
    try {
      value = text === '' ? '' : YAML.parse(text);
    } catch {
      value = text;
    }
    let node = raw;
    for (const part of path.slice(0, -1)) {
      const next = node[part];
      if (next === undefined || next === null) node[part] = {};
      else if (typeof next !== 'object')
        throw new ConfigError(`--set ${set}: "${part}" is not a section`);
      node = node[part] as Record<string, unknown>;
    }
    node[path.at(-1)!] = value;
  }
}

function pointerToKey(path: string): string {
  return path.replace(/^\//, '').replaceAll('/', '.') || '(top level)';
}

/** Validates a parsed YAML document into a Config, or throws naming the first bad key and why. */
export function validateConfig(raw: unknown): Config {
  if (raw === null || raw === undefined) raw = {};
  if (typeof raw !== 'object' || Array.isArray(raw))
    throw new ConfigError('the config must be a YAML mapping of sections');
  const withDefaults = Value.Default(ConfigSchema, structuredClone(raw));
  const first = Value.Errors(ConfigSchema, withDefaults).First();
  if (first) {
    const key = pointerToKey(first.path);
    if (first.message.startsWith('Unexpected property'))
      throw new ConfigError(`unknown config key "${key}"`);
    const shown = first.value === undefined ? 'missing' : JSON.stringify(first.value);
    const choices = (first.schema.anyOf as { const?: unknown }[] | undefined)?.map((s) => s.const);
    const why =
      choices && choices.every((c) => c !== undefined)
        ? `expected one of ${choices.join(', ')}`
        : first.message.toLowerCase();
    throw new ConfigError(`config key "${key}" is invalid (${shown}): ${why}`);
  }
  const config = withDefaults as Config;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: config.server.timeZone });
  } catch {
    throw new ConfigError(
      `config key "server.timeZone" is invalid: "${config.server.timeZone}" is not a known time zone`,
    );
  }
  const exchangeProblem = exchangeConfigProblem(config);
  if (exchangeProblem) throw new ConfigError(exchangeProblem);
  if (config.policy.minMessageSeconds >= config.policy.maxMessageSeconds) {
    throw new ConfigError(
      'config key "policy.minMessageSeconds" must be below policy.maxMessageSeconds',
    );
  }
  checkStore(config.store);
  const topologyProblem = topologyConfigProblem(
    config.server.role,
    config.server.name,
    config.topology,
  );
  if (topologyProblem) throw new ConfigError(topologyProblem);
  checkMetrics(config.metrics);
  return config;
}

/** /metrics on the web port is never open to everyone: it needs a token worth the name. */
function checkMetrics(metrics: Config['metrics']): void {
  if (!metrics.enabled || metrics.listen) return;
  if (metrics.token.length < 16)
    throw new ConfigError(
      'config key "metrics.token" is invalid: /metrics on the HTTP port needs a bearer token of at least 16 characters (or set metrics.listen to a port of its own)',
    );
}

/** A PostgreSQL store needs a PostgreSQL URL; the URL is never echoed (it may hold a password). */
function checkStore(store: Config['store']): void {
  if (store.backend !== 'postgresql') return;
  if (store.url === '')
    throw new ConfigError(
      'config key "store.url" is missing: store.backend postgresql needs a URL such as postgresql://USER:PASSWORD@HOST/DATABASE',
    );
  try {
    // libpq's form, one host or several (h1:5432,h2:5433) and target_session_attrs
    parseDatabaseUrl(store.url);
  } catch (err) {
    throw new ConfigError(`config key "store.url" is invalid: ${(err as Error).message}`);
  }
}

export function loadConfig(file: string, sets: string[] = []): LoadedConfig {
  const path = resolve(file);
  if (!existsSync(path)) {
    throw new ConfigError(
      `no config file at ${path}; create one with "voicegate init" or pass --config FILE`,
    );
  }
  let raw: unknown;
  try {
    raw = YAML.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new ConfigError(`${path} is not valid YAML: ${(err as Error).message.split('\n')[0]}`);
  }
  raw ??= {};
  if (typeof raw === 'object' && !Array.isArray(raw))
    applyOverrides(raw as Record<string, unknown>, sets);
  const config = validateConfig(raw);
  const base = dirname(path);
  const dataDir = resolve(base, config.server.dataDir);
  const inData = (p: string): string => (isAbsolute(p) ? p : resolve(dataDir, p));
  return {
    config,
    file: path,
    dataDir,
    tlsCert: inData(config.tls.cert),
    tlsKey: inData(config.tls.key),
  };
}

/** The config with every secret replaced by "********" (for config print and logs). */
export function maskSecrets<T>(value: T): T {
  if (Array.isArray(value)) return value.map(maskSecrets) as T;
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    out[k] =
      SECRET_KEY.test(k) && typeof v === 'string' && v !== ''
        ? '********'
        : typeof v === 'string'
          ? maskUrlPassword(v)
          : maskSecrets(v);
  }
  return out as T;
}

/** `scheme://user:PASSWORD@host...` with the password masked (store.url); other text as it is. */
export function maskUrlPassword(text: string): string {
  return text.replace(/^([a-z][a-z0-9+.-]*:\/\/[^/@:]*:)[^@/]*@/i, '$1********@');
}
