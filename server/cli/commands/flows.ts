import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import YAML from 'yaml';
import { VoicegateError } from '../../domain/errors.ts';
import type { Flow } from '../../flows/flow.ts';
import { parseFlows, validateFlows, type ValidationResult } from '../../flows/validate.ts';
import { promptNames } from '../../prompts/texts.ts';
import { load, print, printJson, withContext } from '../common.ts';

/** Validates the flows file against the store's mailboxes, the prompts and the access numbers. */
async function check(
  cmd: Command,
  fileArg: string | undefined,
): Promise<{ file: string; exists: boolean; result: ValidationResult }> {
  const { config, dataDir } = load(cmd);
  const file = resolve(fileArg ?? resolve(dataDir, config.sip.flowsFile));
  if (!existsSync(file)) {
    if (fileArg) throw new VoicegateError('NOT_FOUND', `no flows file ${file}`);
    return { file, exists: false, result: validateFlows(null) };
  }
  const text = readFileSync(file, 'utf8');
  return withContext(cmd, async (ctx) => ({
    file,
    exists: true,
    result: parseFlows(
      text,
      {
        promptNames: promptNames(),
        mailboxes: await ctx.mailboxes.list(),
        accessNumbers: config.sip.accessNumbers,
        dialPlan: config.sip.dialPlan,
      },
      file,
    ),
  }));
}

/** Every error on its own line, then a non-zero exit (not main's single-line error). */
function fail(file: string, errors: string[]): void {
  for (const e of errors) process.stderr.write(`${file}: ${e}\n`);
  process.stderr.write(
    `voicegate: ${errors.length} error${errors.length === 1 ? '' : 's'} in ${file}\n`,
  );
  process.exitCode = 1;
}

function plain(flow: Flow): unknown {
  return {
    name: flow.name,
    description: flow.description,
    builtin: flow.builtin,
    numbers: flow.numbers,
    mailboxes: flow.mailboxes,
    language: flow.language,
    steps: flow.steps.map((s) => ({
      ...(s.id !== null ? { id: s.id } : {}),
      [s.action]: s.params,
      ...(s.next !== null ? { next: s.next } : {}),
    })),
  };
}

export function registerFlows(program: Command): void {
  const flows = program.command('flows').description('call flows (auto attendants, menus)');

  flows
    .command('check [file]')
    .description('validate a flows file (default: sip.flowsFile in the data folder)')
    .action(async (fileArg: string | undefined, _o: unknown, cmd: Command) => {
      const { file, exists, result } = await check(cmd, fileArg);
      if (!result.book) return fail(file, result.errors);
      if (!exists) return print(`${file}: no file, the built-in flows answer`);
      const own = [...result.book.flows.values()].filter((f) => !f.builtin);
      const steps = own.reduce((n, f) => n + f.steps.length, 0);
      const numbers = [...result.book.byNumber.keys()];
      print(
        `${file}: OK, ${own.length} flow${own.length === 1 ? '' : 's'}, ${steps} step${steps === 1 ? '' : 's'}` +
          (numbers.length ? `, numbers ${numbers.join(', ')}` : ''),
      );
    });

  flows
    .command('show [name]')
    .description('the flows in effect, built-in ones included')
    .option('--json', 'as JSON')
    .action(async (name: string | undefined, o: { json?: boolean }, cmd: Command) => {
      const { file, result } = await check(cmd, undefined);
      if (!result.book) return fail(file, result.errors);
      let list = [...result.book.flows.values()];
      if (name !== undefined) {
        list = list.filter((f) => f.name === name);
        if (list.length === 0)
          throw new VoicegateError(
            'NOT_FOUND',
            `no flow "${name}" (voicegate flows show lists them)`,
          );
      }
      if (o.json) return printJson(list.map(plain));
      print(
        YAML.stringify({
          flows: Object.fromEntries(
            list.map((f) => {
              const { name: n, ...rest } = plain(f) as { name: string };
              return [n, rest];
            }),
          ),
        }).trimEnd(),
      );
    });
}
