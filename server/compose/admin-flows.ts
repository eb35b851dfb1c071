import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import type { Context } from '../context.ts';
import { parseFlows, validateFlows, type ValidationResult } from '../flows/validate.ts';
import type { AdminFlows } from '../http/deps.ts';
import { promptNames } from '../prompts/texts.ts';

/** What is checked of a flows file, as `voicegate flows check` does: one summary per flow. */
function summary(result: ValidationResult) {
  return {
    ok: result.book !== null,
    errors: result.errors,
    flows: result.book
      ? [...result.book.flows.values()].map((f) => ({
          name: f.name,
          builtin: f.builtin,
          numbers: [...f.numbers],
          steps: f.steps.length,
        }))
      : [],
  };
}

/**
 * The call flows for the admin area: the file of `sip.flowsFile`, when the flows in use were read
 * (`loadedAt`, by the phone part; a file that fails its check keeps the previous flows in use),
 * and a check of it or of a text, against the mailboxes, prompts and access numbers of now.
 */
export function adminFlows(
  context: Context,
  inUse: () => { loadedAt: number | null } | undefined,
): AdminFlows {
  const { config, dataDir } = context.loaded;
  const file = isAbsolute(config.sip.flowsFile)
    ? config.sip.flowsFile
    : join(dataDir, config.sip.flowsFile);
  const against = async () => ({
    promptNames: promptNames(),
    mailboxes: await context.mailboxes.list(),
    accessNumbers: config.sip.accessNumbers,
    dialPlan: config.sip.dialPlan,
  });
  return {
    check: async (text) => summary(parseFlows(text, await against(), 'posted flows')),
    current: async () => {
      const exists = existsSync(file);
      const result = exists
        ? parseFlows(await readFile(file, 'utf8'), await against(), file)
        : validateFlows(null);
      const set = inUse();
      return {
        file,
        exists,
        inUse: set !== undefined,
        loadedAt: set?.loadedAt ?? null,
        check: summary(result),
      };
    },
  };
}
