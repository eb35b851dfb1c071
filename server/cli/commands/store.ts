import type { Command } from 'commander';
import { VoicegateError } from '../../domain/errors.ts';
import { maskUrlPassword } from '../../config/load.ts';
import { copyToPostgres } from '../../store/open-store.ts';
import { load, print } from '../common.ts';

export function registerStore(program: Command): void {
  const store = program.command('store').description('the store: moving to PostgreSQL');

  store
    .command('migrate')
    .description(
      'copy the embedded store (stop the server first) into an empty PostgreSQL database; safe to run again after an interruption',
    )
    .requiredOption(
      '--to <url>',
      'the database, e.g. postgresql://voicegate:PASSWORD@HOST/voicegate',
    )
    .action(async (o: { to: string }, cmd: Command) => {
      const loaded = load(cmd);
      if (loaded.config.store.backend !== 'sqlite')
        throw new VoicegateError(
          'INVALID_STATE',
          `store migrate copies the embedded store; this config's store is ${loaded.config.store.backend}`,
        );
      if (!/^postgres(ql)?:\/\//.test(o.to))
        throw new VoicegateError('INVALID_INPUT', '--to must be a postgresql://... URL');
      let last = '';
      const report = await copyToPostgres(loaded.dataDir, o.to, (step, done, total) => {
        // One line per step, and every tenth of the way through a long one.
        const line = `${step}: ${done}/${total}`;
        if (done === total || done % Math.max(1, Math.ceil(total / 10)) === 0 || step !== last)
          process.stderr.write(`${line}\n`);
        last = step;
      });
      print(
        `${report.resumed ? 'resumed and finished' : 'copied'}: ${Object.entries(report.counts)
          .map(([k, n]) => `${n} ${k}`)
          .join(', ')}; counts and checksums match`,
      );
      print(
        `now set store.backend: postgresql and store.url: ${maskUrlPassword(o.to)} in ${loaded.file}`,
      );
    });
}
