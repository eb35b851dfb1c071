import type { Config } from './schema.ts';

export type ExchangeConnection = Config['exchange']['connections'][number];
export type EwsConnectionConfig = Extract<ExchangeConnection, { kind: 'ews' }>;
export type GraphConnectionConfig = Extract<ExchangeConnection, { kind: 'graph' }>;

/**
 * What the schema cannot say of `exchange.connections`: names are unique, and each has the
 * credentials its authentication needs. Returns the first problem, naming the key, or null.
 */
export function exchangeConfigProblem(config: Config): string | null {
  const seen = new Set<string>();
  for (const [i, c] of config.exchange.connections.entries()) {
    const key = `exchange.connections.${i}`;
    if (seen.has(c.name)) return `config key "${key}.name": "${c.name}" is used twice`;
    seen.add(c.name);
    if (c.kind === 'graph') {
      const cert = c.certificate.privateKeyFile !== '' && c.certificate.thumbprint !== '';
      if (!c.clientSecret && !cert)
        return `config key "${key}" (graph): set clientSecret, or certificate.privateKeyFile and certificate.thumbprint`;
      continue;
    }
    if (c.auth === 'oauth') {
      if (!c.tenant || !c.clientId || !c.clientSecret)
        return `config key "${key}" (ews, oauth): set tenant, clientId and clientSecret`;
    } else if (!c.username || !c.password)
      return `config key "${key}" (ews, ${c.auth}): set username and password`;
  }
  return null;
}
