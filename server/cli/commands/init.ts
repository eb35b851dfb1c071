import { chmodSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { loadConfig } from '../../config/load.ts';
import { configTemplate } from '../../config/template.ts';
import { VoicegateError } from '../../domain/errors.ts';
import { configPath, globals, print } from '../common.ts';

/** Writes voicegate.yaml into `dir` (unless there), creates the data folder and a certificate. */
export async function initDataDir(
  configFile: string,
): Promise<{ created: boolean; certCreated: boolean }> {
  let created = false;
  if (!existsSync(configFile)) {
    const folder = resolve(configFile, '..');
    if (mkdirSync(folder, { recursive: true, mode: 0o700 })) chmodSync(folder, 0o700);
    writeFileSync(configFile, configTemplate(), { mode: 0o600, flag: 'wx' });
    // The mode given at creation passes through the umask; this one does not.
    chmodSync(configFile, 0o600);
    created = true;
  }
  const loaded = loadConfig(configFile);
  if (mkdirSync(loaded.dataDir, { recursive: true, mode: 0o700 })) chmodSync(loaded.dataDir, 0o700);
  // Loaded on demand: the certificate library is large and most commands never need it.
  const { ensureSelfSignedCert } = await import('../../config/tls-cert.ts');
  const certCreated = await ensureSelfSignedCert(
    loaded.tlsCert,
    loaded.tlsKey,
    loaded.config.server.domain,
  );
  return { created, certCreated };
}

export function registerInit(program: Command): void {
  program
    .command('init')
    .description(
      'write a commented default voicegate.yaml, the data folder and a self-signed TLS certificate',
    )
    .option(
      '--dir <dir>',
      "folder for voicegate.yaml and the data (default: the --config file's folder, ./data)",
    )
    .action(async (opts: { dir?: string }, cmd: Command) => {
      const file = opts.dir ? join(resolve(opts.dir), 'voicegate.yaml') : configPath(globals(cmd));
      const { created, certCreated } = await initDataDir(file);
      if (!created && !certCreated) {
        throw new VoicegateError('ALREADY_EXISTS', `${file} already exists; nothing to do`);
      }
      print(created ? `wrote ${file}` : `kept ${file}`);
      if (certCreated) print('created a self-signed TLS certificate');
    });
}
