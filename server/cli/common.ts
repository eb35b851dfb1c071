import { resolve } from 'node:path';
import type { Command } from 'commander';
import { loadConfig, type LoadedConfig } from '../config/load.ts';
import { createContext, type Context } from '../context.ts';
import { createLogger } from '../log.ts';

export interface GlobalOptions {
  config?: string;
  set: string[];
}

/** The config file: --config, else VOICEGATE_CONFIG, else ./data/voicegate.yaml. */
export function configPath(opts: GlobalOptions, env: NodeJS.ProcessEnv = process.env): string {
  return resolve(opts.config ?? env.VOICEGATE_CONFIG ?? './data/voicegate.yaml');
}

export function globals(cmd: Command): GlobalOptions {
  return cmd.optsWithGlobals() as GlobalOptions;
}

export function load(cmd: Command): LoadedConfig {
  const opts = globals(cmd);
  return loadConfig(configPath(opts), opts.set);
}

/** Runs `fn` with the store and services open, and closes them after. CLI logs go to stderr at warn. */
export async function withContext<T>(cmd: Command, fn: (ctx: Context) => Promise<T>): Promise<T> {
  const loaded = load(cmd);
  const log = createLogger(loaded.config.log.level === 'silent' ? 'silent' : 'warn');
  const ctx = await createContext(loaded, log);
  try {
    return await fn(ctx);
  } finally {
    await ctx.close();
  }
}

export function print(line = ''): void {
  process.stdout.write(line + '\n');
}

export function printJson(value: unknown): void {
  print(JSON.stringify(value, null, 2));
}

/** A plain text table: columns padded to their widest cell. */
export function printTable(headers: string[], rows: string[][]): void {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string =>
    cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  print(line(headers));
  for (const row of rows) print(line(row));
}

export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}
