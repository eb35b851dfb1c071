import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validateConfig, type LoadedConfig } from '../../server/config/load.ts';
import { createContext, type Context } from '../../server/context.ts';
import { createLogger } from '../../server/log.ts';

/** A store and services on a fresh temporary data folder; `cleanup` closes and removes it. */
export async function tempContext(
  raw: Record<string, unknown> = {},
): Promise<Context & { dir: string; cleanup(): Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'voicegate-test-'));
  const config = validateConfig(raw);
  const loaded: LoadedConfig = {
    config,
    file: join(dir, 'voicegate.yaml'),
    dataDir: dir,
    tlsCert: join(dir, 'tls/cert.pem'),
    tlsKey: join(dir, 'tls/key.pem'),
  };
  const ctx = await createContext(loaded, createLogger('silent'));
  return Object.assign(ctx, {
    dir,
    async cleanup() {
      await ctx.close();
      rmSync(dir, { recursive: true, force: true });
    },
  });
}
