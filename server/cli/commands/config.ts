import type { Command } from 'commander';
import YAML from 'yaml';
import { maskSecrets } from '../../config/load.ts';
import { load, print, printJson } from '../common.ts';
import { registerConfigTransfer } from './config-transfer.ts';

export function registerConfig(program: Command): void {
  const config = program.command('config').description('show the configuration');
  config
    .command('print')
    .description('print the effective config (file, defaults and --set), secrets masked')
    .option('--json', 'as JSON')
    .action((opts: { json?: boolean }, cmd: Command) => {
      const loaded = load(cmd);
      const masked = maskSecrets(loaded.config);
      if (opts.json) printJson(masked);
      else {
        print(`# ${loaded.file}`);
        process.stdout.write(YAML.stringify(masked));
      }
    });
  registerConfigTransfer(config);
}
