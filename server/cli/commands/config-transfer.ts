import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import type { Command } from 'commander';
import YAML from 'yaml';
// config-archive.ts (tar) is loaded by its commands: `serve` would otherwise carry it in memory.
import { DamagedBackup } from '../../backup/manifest.ts';
import { validateConfig } from '../../config/load.ts';
import { SECRET_KEY } from '../../config/schema.ts';
import { packageVersion } from '../../context.ts';
import { VoicegateError } from '../../domain/errors.ts';
import { parseFlows } from '../../flows/validate.ts';
import { promptNames } from '../../prompts/texts.ts';
import { load, print, withContext } from '../common.ts';
import { EXIT_DAMAGED } from './backup.ts';

/** The config file's text with every secret's value emptied, comments and layout kept. */
function withoutSecrets(text: string): string {
  const doc = YAML.parseDocument(text);
  YAML.visit(doc, {
    Pair(_key, pair) {
      const key = YAML.isScalar(pair.key) ? String(pair.key.value) : '';
      if (SECRET_KEY.test(key) && YAML.isScalar(pair.value) && pair.value.value !== '')
        pair.value.value = '';
    },
  });
  return doc.toString();
}

/** A name beside `file` for what is written before it replaces it. */
const beside = (file: string): string => `${file}.importing-${process.pid}`;

export function registerConfigTransfer(config: Command): void {
  config
    .command('export <file>')
    .description(
      'export the configuration (config file, mailboxes and their settings, groups, greetings, call flows) as one .tar.gz',
    )
    .option(
      '--with-secrets',
      "keep passwords in the config file, and the codes' hashes and SIP credentials",
    )
    .action(async (file: string, o: { withSecrets?: boolean }, cmd: Command) => {
      const loaded = load(cmd);
      const withSecrets = o.withSecrets === true;
      const to = resolve(file);
      const flowsPath = resolve(loaded.dataDir, loaded.config.sip.flowsFile);
      await withContext(cmd, async (ctx) => {
        const files = new Map<string, Uint8Array>();
        const configText = readFileSync(loaded.file, 'utf8');
        files.set(
          'voicegate.yaml',
          Buffer.from(withSecrets ? configText : withoutSecrets(configText)),
        );
        const hasFlows = existsSync(flowsPath);
        if (hasFlows) files.set('flows.yaml', readFileSync(flowsPath));
        const settings = await ctx.settings.exportSettings(
          { withSecrets },
          { put: async (name, bytes) => void files.set(name, bytes) },
        );
        const { writeConfigExport } = await import('../../backup/config-archive.ts');
        const manifest = await writeConfigExport(
          to,
          `${to}.work-${process.pid}`,
          {
            version: packageVersion(),
            createdAt: new Date().toISOString(),
            server: loaded.config.server.name,
            withSecrets,
            configFile: 'voicegate.yaml',
            flowsFile: hasFlows ? 'flows.yaml' : null,
            settings,
          },
          files,
        );
        print(`wrote ${to}`);
        print(
          `${manifest.settings.mailboxes.length} mailboxes, ${manifest.settings.greetings.length} greetings, ${hasFlows ? 'call flows' : 'no call flows file'}, ${withSecrets ? 'with' : 'without'} secrets`,
        );
      });
    });

  config
    .command('import <file>')
    .description(
      'import an export: everything is checked first, then applied all or nothing (--dry-run shows the changes and makes none)',
    )
    .option('--dry-run', 'show what would change, change nothing')
    .action(async (file: string, o: { dryRun?: boolean }, cmd: Command) => {
      const loaded = load(cmd);
      const dir = await mkdtemp(join(tmpdir(), 'voicegate-import-'));
      try {
        let archive;
        try {
          const { readConfigExport } = await import('../../backup/config-archive.ts');
          archive = await readConfigExport(resolve(file), dir);
        } catch (err) {
          if (!(err instanceof DamagedBackup)) throw err;
          process.stderr.write(`voicegate: the export is damaged: ${err.message}\n`);
          process.exitCode = EXIT_DAMAGED;
          return;
        }
        const { manifest } = archive;
        await withContext(cmd, async (ctx) => {
          const plan = await ctx.settings.planImport(manifest.settings, archive);
          // The imported config file must be one this version accepts; it is written beside the
          // one in use, for the administrator to compare and adopt (ports, paths and secrets are
          // this server's own).
          let configText: string | null = null;
          if (manifest.configFile) {
            configText = Buffer.from(await archive.get(manifest.configFile)).toString('utf8');
            try {
              validateConfig(YAML.parse(configText));
            } catch (err) {
              throw new VoicegateError(
                'INVALID_INPUT',
                `the exported config file: ${(err as Error).message}`,
              );
            }
          }
          const flowsPath = resolve(loaded.dataDir, loaded.config.sip.flowsFile);
          let flowsText: string | null = null;
          if (manifest.flowsFile) {
            flowsText = Buffer.from(await archive.get(manifest.flowsFile)).toString('utf8');
            const known = new Map((await ctx.mailboxes.list()).map((m) => [m.name, m]));
            for (const m of manifest.settings.mailboxes)
              known.set(m.name, { ...m, id: 0, createdAt: 0 });
            const result = parseFlows(
              flowsText,
              {
                promptNames: promptNames(),
                mailboxes: [...known.values()],
                accessNumbers: loaded.config.sip.accessNumbers,
                dialPlan: loaded.config.sip.dialPlan,
              },
              'flows.yaml',
            );
            if (result.errors.length > 0)
              throw new VoicegateError(
                'INVALID_INPUT',
                `the exported call flows: ${result.errors[0]}`,
              );
          }
          const importedConfig = join(dirname(loaded.file), 'voicegate.imported.yaml');
          const lines = plan.map(
            (c) => `${c.action.padEnd(9)} ${c.what}${c.detail ? ` (${c.detail})` : ''}`,
          );
          if (flowsText !== null) lines.push(`replace   call flows ${flowsPath}`);
          if (configText !== null)
            lines.push(`write     ${importedConfig} (the exported config file, to compare)`);
          if (o.dryRun) {
            print(`dry run: nothing changed. Importing ${file} would:`);
            for (const l of lines) print(`  ${l}`);
            return;
          }
          if (flowsText !== null) await writeFile(beside(flowsPath), flowsText, { mode: 0o600 });
          try {
            await ctx.settings.applyImport(manifest.settings, archive);
          } catch (err) {
            await rm(beside(flowsPath), { force: true });
            throw err;
          }
          if (flowsText !== null) await rename(beside(flowsPath), flowsPath);
          if (configText !== null) await writeFile(importedConfig, configText, { mode: 0o600 });
          print(`imported ${file}:`);
          for (const l of lines) print(`  ${l}`);
        });
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });
}
