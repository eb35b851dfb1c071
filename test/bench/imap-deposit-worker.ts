/**
 * Deposits into a Voicegate store from a process of its own, while the server runs: what
 * `voicegate deposit` does (createContext, MessageService.deposit), with the process and its
 * store already open when the benchmark asks for a deposit, so the times it reports are those
 * of the deposit alone. Each IPC message names a mailbox; the reply is a DepositTimes.
 * Usage (from imap-voicegate.ts): node imap-deposit-worker.ts CONFIG WAV
 */
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { loadConfig } from '../../server/config/load.ts';
import { createContext } from '../../server/context.ts';
import { createLogger } from '../../server/log.ts';

export interface DepositTimes {
  /** Just before the deposit started writing, ms since the epoch. */
  startedAt: number;
  /** When MessageService.deposit returned: audio and record durable, the commit visible. */
  committedAt: number;
}

const [configFile, wavFile] = process.argv.slice(2) as [string, string];
const ctx = await createContext(loadConfig(configFile), createLogger('silent'));
const audio = readFileSync(wavFile);
const now = (): number => performance.timeOrigin + performance.now();

process.on('message', (mailbox: string) => {
  void (async () => {
    const startedAt = now();
    await ctx.messages.deposit({ mailbox, audio, callerNumber: '+15550199', callerName: 'Idle' });
    const times: DepositTimes = { startedAt, committedAt: now() };
    process.send!(times);
  })();
});
process.on('disconnect', () => {
  void ctx.close().finally(() => process.exit(0));
});
process.send!('ready');
