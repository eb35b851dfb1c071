import { Command, CommanderError } from 'commander';
import { isVoicegateError } from '../domain/errors.ts';
import { packageVersion } from '../context.ts';
import { collect } from './common.ts';
import { registerBackup, registerRestore } from './commands/backup.ts';
import { registerConfig } from './commands/config.ts';
import { registerDemo } from './commands/demo.ts';
import { registerFlows } from './commands/flows.ts';
import { registerInit } from './commands/init.ts';
import { registerGroup, registerMailbox } from './commands/mailbox.ts';
import { registerMessages } from './commands/messages.ts';
import { registerQueue } from './commands/queue.ts';
import { registerServe } from './commands/serve.ts';
import { registerExchange } from './commands/exchange.ts';
import { registerStore } from './commands/store.ts';
import { registerTopology } from './commands/topology.ts';
import { registerAdmin, registerAudit } from './commands/admin.ts';
import { registerGreeting } from './commands/greeting.ts';
import { registerStatus } from './commands/status.ts';

export function buildProgram(): Command {
  const program = new Command('voicegate')
    .description('Voicegate: voicemail for IMAP, the web, the phone, e-mail and Exchange')
    .version(packageVersion())
    .option(
      '-c, --config <file>',
      'config file (default: $VOICEGATE_CONFIG or ./data/voicegate.yaml)',
    )
    .option(
      '--set <key=value>',
      'override a config key, e.g. http.port=8080 (repeatable)',
      collect,
      [] as string[],
    )
    .showHelpAfterError('(voicegate --help lists the commands)')
    .exitOverride();
  registerInit(program);
  registerServe(program);
  registerConfig(program);
  registerMailbox(program);
  registerGroup(program);
  registerMessages(program);
  registerQueue(program);
  registerFlows(program);
  registerDemo(program);
  registerBackup(program);
  registerRestore(program);
  registerExchange(program);
  registerStore(program);
  registerTopology(program);
  registerAdmin(program);
  registerAudit(program);
  registerGreeting(program);
  registerStatus(program);
  for (const cmd of program.commands) {
    cmd.exitOverride();
    for (const sub of cmd.commands) sub.exitOverride();
  }
  return program;
}

/** One clear line on stderr and a non-zero exit for every error; a stack only for real bugs. */
async function main(argv: string[]): Promise<void> {
  try {
    await buildProgram().parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      process.exitCode = err.exitCode;
      return;
    }
    if (isVoicegateError(err)) {
      process.stderr.write(`voicegate: ${err.message}\n`);
      process.exitCode = err.code === 'INVALID_INPUT' ? 2 : 1;
      return;
    }
    process.stderr.write(`voicegate: unexpected error: ${(err as Error).stack ?? String(err)}\n`);
    process.exitCode = 70;
  }
}

await main(process.argv);
