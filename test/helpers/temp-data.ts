import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../server/config/load.ts';
import { createContext, type Context } from '../../server/context.ts';
import { createLogger } from '../../server/log.ts';

/**
 * A temporary folder holding a real `voicegate.yaml`, for tests that share one data folder
 * between the test process and child processes (the CLI binary, a crash fixture).
 */
export interface TempData {
  /** The folder holding voicegate.yaml. */
  dir: string;
  configFile: string;
  /** Where the store lives: `dir` unless another folder was given. */
  dataDir: string;
  /** Opens the store and services in this process, as the CLI does, with logs off. */
  open(): Promise<Context>;
  remove(): void;
}

export function makeTempDir(prefix = 'voicegate-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Writes a minimal config (logs off) whose data folder is `dataDir`, by default the new folder itself. */
export function tempData(opts: { dataDir?: string } = {}): TempData {
  const dir = makeTempDir();
  const configFile = join(dir, 'voicegate.yaml');
  const dataDir = opts.dataDir ?? dir;
  writeFileSync(
    configFile,
    `server:\n  dataDir: ${JSON.stringify(dataDir === dir ? '.' : dataDir)}\nlog:\n  level: silent\n`,
  );
  return {
    dir,
    configFile,
    dataDir,
    open: () => createContext(loadConfig(configFile), createLogger('silent')),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
