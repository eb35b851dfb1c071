/**
 * The store of the web-list benchmark, made before `voicegate serve` starts on it, as an
 * import would: `voicegate init --dir`, one mailbox, and its messages added through the store
 * in batches (one shared 2-second recording), oldest first, a minute apart.
 */
import { join } from 'node:path';
import { loadConfig } from '../../server/config/load.ts';
import { createContext } from '../../server/context.ts';
import { createLogger } from '../../server/log.ts';
import { toneWav } from '../../server/media/tone.ts';
import type { NewMessage } from '../../server/domain/message.ts';
import { messageInfo } from '../../server/http/message-view.ts';
import { runCli } from '../helpers/cli.ts';
import type { PreparedStore } from './web-servers.ts';

export const MAILBOX = 'big';
export const EXTENSION = '300';
export const CODE = '1234';
const BATCH = 1000;

export interface SeededStore extends Pick<PreparedStore, 'configFile' | 'dataDir'> {
  /** The whole list as the API sent it before it had pages: every message, uncompressed JSON. */
  wholeListBytes: number;
}

/** The mailbox's messages, the oldest `messages` minutes ago, the newest now. */
export async function seedStore(dir: string, messages: number): Promise<SeededStore> {
  const init = await runCli(['init', '--dir', dir]);
  if (init.code !== 0) throw new Error(`voicegate init failed: ${init.stderr || init.stdout}`);
  const configFile = join(dir, 'voicegate.yaml');
  const loaded = loadConfig(configFile);
  const ctx = await createContext(loaded, createLogger('silent'));
  try {
    const box = await ctx.mailboxes.add({ name: MAILBOX, extension: EXTENSION }, CODE);
    const key = await ctx.audio.put(toneWav({ seconds: 2 }));
    const start = Date.now() - messages * 60_000;
    for (let i = 0; i < messages; i += BATCH) {
      const batch: NewMessage[] = [];
      for (let j = i; j < Math.min(messages, i + BATCH); j++) {
        const id = crypto.randomUUID();
        batch.push({
          id,
          identity: `${id}@bench`,
          mailboxId: box.id,
          kind: 'message',
          callerNumber: `+1555${String(j).padStart(7, '0')}`,
          callerName: `Caller ${j}`,
          receivedAt: start + j * 60_000,
          audio: { key, format: 'wav/pcm16/8000', bytes: 32_044, durationMs: 2000 },
          priority: j % 10 === 0 ? 'high' : 'normal',
          private: false,
          originServer: 'bench',
          forwardedFrom: null,
        });
      }
      await ctx.store.addMessages(batch, Date.now());
    }
    const all = await ctx.messages.list(box.id);
    const wholeListBytes = Buffer.byteLength(
      JSON.stringify({ messages: all.map((m) => messageInfo(m, box)) }),
    );
    return { configFile, dataDir: loaded.dataDir, wholeListBytes };
  } finally {
    await ctx.close();
  }
}
