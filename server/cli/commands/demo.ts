import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { loadConfig } from '../../config/load.ts';
import { createContext } from '../../context.ts';
import { createLogger } from '../../log.ts';
import { configPath, globals, print } from '../common.ts';
import { initDataDir } from './init.ts';
import { serveUntilSignal } from './serve.ts';

/** Ports an ordinary user may bind: standard ones below 1024 are moved up. */
const DEMO_PORTS: Record<string, number> = {
  'imap.port': 1143,
  'imap.tlsPort': 1993,
  'smtp.port': 2525,
  'http.port': 8443,
  'sip.port': 5060,
};

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description(
      'create demo mailboxes and spoken messages (in ./data unless --dir), then serve on unprivileged ports',
    )
    .option('--dir <dir>', 'data folder for the demo')
    .option('--no-serve', 'only create the demo data')
    .action(async (o: { dir?: string; serve: boolean }, cmd: Command) => {
      const g = globals(cmd);
      const file = o.dir ? join(resolve(o.dir), 'voicegate.yaml') : configPath(g);
      await initDataDir(file);
      const base = loadConfig(file, g.set);
      const portSets = Object.entries(DEMO_PORTS)
        .filter(([key]) => {
          const [section, field] = key.split('.') as [keyof typeof base.config, string];
          return ((base.config[section] as Record<string, unknown>)[field] as number) < 1024;
        })
        .map(([key, port]) => `${key}=${port}`);
      const loaded = loadConfig(file, [...portSets, ...g.set]);
      const { DEMO_GROUP, DEMO_MAILBOXES, seedDemo } = await import('../../demo/demo-data.ts');
      const seedCtx = await createContext(loaded, createLogger('warn'));
      try {
        await seedDemo(seedCtx);
      } finally {
        await seedCtx.close();
      }
      print(`Demo data in ${loaded.dataDir}`);
      print('Mailboxes (name / extension / code / SIP password):');
      const width = Math.max(...DEMO_MAILBOXES.map((m) => m.sipPassword.length));
      for (const m of DEMO_MAILBOXES)
        print(
          `  ${m.name.padEnd(8)} ${m.extension}  ${m.code}  ${m.sipPassword.padEnd(width)}  ${m.fullName}, ${m.timeZone}`,
        );
      print(
        `  ${DEMO_GROUP.name.padEnd(8)} ${DEMO_GROUP.extension}  ${DEMO_GROUP.code}  ${''.padEnd(width)}  hunt group of ${DEMO_GROUP.members.join(', ')}`,
      );
      print(`List messages:  npx voicegate --config ${file} messages alice`);
      print(`Leave one:      npx voicegate --config ${file} deposit 201 some.wav --from 5551234`);
      if (!o.serve) return;
      const log = createLogger(loaded.config.log.level);
      const { startServer } = await import('../../server.ts');
      const server = await startServer(loaded, log);
      const host = loaded.config.imap.host;
      print('');
      print(`Web voicemail: ${server.urls.http}/  (log in with a name or extension and its code)`);
      print('Mail client (Thunderbird, Outlook, mutt): an IMAP account');
      print(
        `  server ${host}, port ${server.ports.imaps} (SSL/TLS) or ${server.ports.imap} (STARTTLS)`,
      );
      print('  user name: a mailbox name or extension above; password: its code');
      print('  the certificate is self-signed: accept it once, or trust ' + loaded.tlsCert);
      print(`  e.g. curl -k 'imaps://${host}:${server.ports.imaps}/INBOX' -u 201:2011`);
      print(
        `Voicemail by SMTP: swaks --server ${loaded.config.smtp.host}:${server.ports.smtp} --to 201@${loaded.config.server.domain} --attach-type audio/wav --attach @some.wav`,
      );
      const sip = `${loaded.config.sip.host}:${server.ports.sip}`;
      const realm = loaded.config.sip.realm || loaded.config.server.domain;
      print(`Phone (SIP, G.711): register a softphone as sip:201@${sip}, user name 201,`);
      print(`  password phone-alice-201 (realm ${realm}): it gets the lamp, and calling 201`);
      print(`  from it collects messages without the code once it answers the server's challenge;`);
      print(
        `  dial sip:201@${sip} from anywhere else to leave a message, 800 to collect with a code`,
      );
      print(`Health: ${server.urls.http}/healthz`);
      print('Serving (Ctrl-C to stop)');
      await serveUntilSignal(server, log);
    });
}
