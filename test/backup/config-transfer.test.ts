// Moving a configuration between servers with `voicegate config export` and `config import`.
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../server/config/load.ts';
import { createContext, type Context } from '../../server/context.ts';
import { createLogger } from '../../server/log.ts';
import { toneWav } from '../../server/media/tone.ts';
import { runCli } from '../helpers/cli.ts';

let root: string;
const first = () => join(root, 'first');
const second = () => join(root, 'second');
const cfg = (dir: string) => ['--config', join(dir, 'voicegate.yaml')];
const GREETING = Buffer.from(toneWav({ seconds: 2, frequency: 523 }));
const NAME = Buffer.from(toneWav({ seconds: 1, frequency: 880 }));
const FLOWS = `flows:\n  main:\n    numbers: ['700']\n    mailboxes: [sales]\n    steps:\n      - hangup: goodbye\n`;

async function open<T>(dir: string, fn: (ctx: Context) => Promise<T>): Promise<T> {
  const ctx = await createContext(loadConfig(join(dir, 'voicegate.yaml')), createLogger('silent'));
  try {
    return await fn(ctx);
  } finally {
    await ctx.close();
  }
}

/** What a user of the second server would see of the mailboxes: settings and greetings' audio. */
async function view(dir: string) {
  return open(dir, async (ctx) => {
    const out: Record<string, unknown> = {};
    for (const m of await ctx.store.listMailboxes()) {
      const greetings: Record<string, string> = {};
      for (const g of await ctx.store.listGreetings(m.id))
        greetings[g.kind] = createHash('sha256')
          .update(await ctx.audio.read(g.audio.key))
          .digest('hex');
      const members = m.kind === 'group' ? await ctx.mailboxes.groupMembers(m.name) : [];
      out[m.name] = {
        extension: m.extension,
        email: m.email,
        emailMode: m.emailMode,
        timeZone: m.timeZone,
        breakouts: m.breakouts,
        members: members.map((x) => x.name),
        greetings,
      };
    }
    return out;
  });
}

function fingerprint(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true }))
    // The database is compared by what it holds (view), not its bytes.
    if (e.isFile() && !e.name.startsWith('voicegate.db'))
      out[join(e.parentPath, e.name)] = createHash('sha256')
        .update(readFileSync(join(e.parentPath, e.name)))
        .digest('hex');
  return out;
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'voicegate-config-transfer-'));
  for (const dir of [first(), second()])
    expect((await runCli(['init', '--dir', dir])).code).toBe(0);
  const yaml = join(first(), 'voicegate.yaml');
  writeFileSync(
    yaml,
    readFileSync(yaml, 'utf8').replace(
      /^mail:\n/m,
      "mail:\n  servers:\n    - host: smtp.example.com\n      password: 'hunter2-secret'\n",
    ),
  );
  writeFileSync(join(first(), 'flows.yaml'), FLOWS);
  await open(first(), async (ctx) => {
    await ctx.mailboxes.add(
      { name: 'alice', extension: '201', email: 'alice@example.com', timeZone: 'Europe/Paris' },
      '1234',
    );
    await ctx.mailboxes.update('alice', { emailMode: 'copy', breakouts: { '0': '100' } });
    await ctx.mailboxes.add({ name: 'bob', extension: '202' }, '5678');
    await ctx.mailboxes.add({ name: 'sales', extension: '300', kind: 'group' }, '0000');
    await ctx.mailboxes.setGroupMembers('sales', ['alice', 'bob']);
    await ctx.messages.setGreeting('alice', 'unavailable', GREETING);
    await ctx.messages.setGreeting('alice', 'name', NAME);
  });
}, 60_000);
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('config export and import', () => {
  it('exports without secrets by default', async () => {
    const out = join(root, 'plain.tar.gz');
    const r = await runCli([...cfg(first()), 'config', 'export', out]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/3 mailboxes, 2 greetings, call flows, without secrets/);
    const tar = await import('tar');
    const dir = mkdtempSync(join(root, 'look-'));
    await tar.x({ file: out, cwd: dir });
    expect(readFileSync(join(dir, 'voicegate.yaml'), 'utf8')).not.toContain('hunter2');
    expect(readFileSync(join(dir, 'voicegate-config.json'), 'utf8')).not.toContain('scrypt$');
  });

  it('a dry run shows the changes and changes nothing; the import then serves the same mailboxes, greetings and flows', async () => {
    const out = join(root, 'full.tar.gz');
    expect((await runCli([...cfg(first()), 'config', 'export', out, '--with-secrets'])).code).toBe(
      0,
    );
    const before = fingerprint(second());
    const held = await view(second());
    const dry = await runCli([...cfg(second()), 'config', 'import', out, '--dry-run']);
    expect(dry.stderr).toBe('');
    expect(dry.code).toBe(0);
    expect(dry.stdout).toMatch(/dry run: nothing changed/);
    expect(dry.stdout).toMatch(/add +mailbox "alice"/);
    expect(dry.stdout).toMatch(/alice's unavailable greeting/);
    expect(dry.stdout).toMatch(/replace +call flows/);
    expect(fingerprint(second())).toEqual(before);
    expect(await view(second())).toEqual(held);

    const done = await runCli([...cfg(second()), 'config', 'import', out]);
    expect(done.stderr).toBe('');
    expect(done.code).toBe(0);
    expect(await view(second())).toEqual(await view(first()));
    expect(readFileSync(join(second(), 'flows.yaml'), 'utf8')).toBe(FLOWS);
    const flows = await runCli([...cfg(second()), 'flows', 'show', 'main', '--json']);
    expect(flows.stdout).toContain('700');
    // The codes came along: alice logs in on the second server with her code.
    await open(second(), async (ctx) => {
      const m = await ctx.mailboxes.authenticate('alice', '1234', {
        channel: 'web',
        remote: '127.0.0.1',
      });
      expect(m.name).toBe('alice');
    });
    // Importing again changes nothing.
    const again = await runCli([...cfg(second()), 'config', 'import', out, '--dry-run']);
    expect(again.stdout).toMatch(/unchanged +mailbox "alice"/);
  }, 60_000);

  it('a damaged or invalid archive changes nothing', async () => {
    const out = join(root, 'full.tar.gz');
    const before = fingerprint(second());
    const held = await view(second());
    const bytes = readFileSync(out);
    bytes[Math.floor(bytes.length / 2)]! ^= 0x20;
    const damaged = join(root, 'damaged.tar.gz');
    writeFileSync(damaged, bytes);
    const r = await runCli([...cfg(second()), 'config', 'import', damaged]);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/damaged/);
    expect(fingerprint(second())).toEqual(before);
    expect(await view(second())).toEqual(held);

    // Well-formed but wrong: a mailbox whose extension another one here holds.
    const tar = await import('tar');
    const dir = mkdtempSync(join(root, 'edit-'));
    await tar.x({ file: out, cwd: dir });
    const manifestPath = join(dir, 'voicegate-config.json');
    const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as {
      settings: { mailboxes: { name: string; extension: string }[] };
    };
    manifest.settings.mailboxes.push({ ...manifest.settings.mailboxes[1]!, name: 'carol' });
    writeFileSync(manifestPath, JSON.stringify(manifest));
    const bad = join(root, 'bad.tar.gz');
    await tar.c({ file: bad, cwd: dir, gzip: true }, readdirSync(dir));
    const refused = await runCli([...cfg(second()), 'config', 'import', bad]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/mailbox "carol": extension 202 is bob's/);
    expect(fingerprint(second())).toEqual(before);
    expect(await view(second())).toEqual(held);
  }, 60_000);
});
