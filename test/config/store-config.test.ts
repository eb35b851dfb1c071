import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { validateConfig } from '../../server/config/load.ts';
import { runCli } from '../helpers/cli.ts';
import { makeTempDir } from '../helpers/temp-data.ts';

const errorOf = (raw: unknown): string => {
  try {
    validateConfig(raw);
    return 'valid';
  } catch (err) {
    return (err as Error).message;
  }
};

describe('store.backend and store.url', () => {
  it('takes sqlite by default and postgresql with a PostgreSQL URL', () => {
    expect(validateConfig({}).store).toEqual({ backend: 'sqlite', url: '' });
    const url = 'postgresql://voicegate:s3cret@db.example:5432/voicegate';
    expect(validateConfig({ store: { backend: 'postgresql', url } }).store.url).toBe(url);
  });

  it('refuses a missing or wrong URL, naming the key and never echoing the URL', () => {
    expect(errorOf({ store: { backend: 'postgresql' } })).toMatch(
      /"store\.url" is missing.*postgresql:\/\/USER:PASSWORD@HOST\/DATABASE/,
    );
    expect(errorOf({ store: { backend: 'postgresql', url: 'mysql://u:hunter2@h/db' } })).toBe(
      'config key "store.url" is invalid: expected postgresql://..., not mysql://...',
    );
    expect(errorOf({ store: { backend: 'postgresql', url: 'hunter2' } })).toBe(
      'config key "store.url" is invalid: not a URL',
    );
    expect(errorOf({ store: { backend: 'mongodb' } })).toMatch(
      /expected one of sqlite, postgresql/,
    );
  });

  it('takes several hosts in libpq form, and refuses a target Voicegate cannot write to', () => {
    const url =
      'postgresql://voicegate:s3cret@db1.example:5432,[::1]:5433,db3/voicegate?target_session_attrs=read-write';
    expect(validateConfig({ store: { backend: 'postgresql', url } }).store.url).toBe(url);
    expect(
      errorOf({
        store: {
          backend: 'postgresql',
          url: 'postgresql://u:hunter2@a,b/db?target_session_attrs=standby',
        },
      }),
    ).toBe(
      'config key "store.url" is invalid: target_session_attrs must be any, read-write, primary (Voicegate writes), not "standby"',
    );
    expect(
      errorOf({
        store: { backend: 'postgresql', url: 'postgresql://u:hunter2@a:5432,b:99999/db' },
      }),
    ).toBe(
      'config key "store.url" is invalid: host 2 of the URL is not HOST or HOST:PORT (a port from 1 to 65535)',
    );
  });

  it('masks the password of the URL in config print', async () => {
    const dir = makeTempDir();
    const file = join(dir, 'voicegate.yaml');
    writeFileSync(
      file,
      'store:\n  backend: postgresql\n  url: postgresql://voicegate:hunter2@db.example/voicegate\nlog:\n  level: silent\n',
    );
    const result = await runCli(['config', 'print', '--config', file]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('url: postgresql://voicegate:********@db.example/voicegate');
    expect(result.stdout + result.stderr).not.toContain('hunter2');
  });

  it('says which PostgreSQL server cannot be reached, without its password', async () => {
    const dir = makeTempDir();
    const file = join(dir, 'voicegate.yaml');
    // Port 1 on loopback: nothing listens there.
    writeFileSync(
      file,
      'store:\n  backend: postgresql\n  url: postgresql://voicegate:hunter2@127.0.0.1:1/voicegate\nlog:\n  level: silent\n',
    );
    const result = await runCli(['mailbox', 'list', '--config', file]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /^voicegate: cannot open the PostgreSQL store at 127\.0\.0\.1:1\/voicegate: .*ECONNREFUSED/m,
    );
    expect(result.stdout + result.stderr).not.toContain('hunter2');
  });

  it('with several hosts, says why each one could not serve', async () => {
    const dir = makeTempDir();
    const file = join(dir, 'voicegate.yaml');
    writeFileSync(
      file,
      'store:\n  backend: postgresql\n  url: postgresql://voicegate:hunter2@127.0.0.1:1,127.0.0.1:2/voicegate\nlog:\n  level: silent\n',
    );
    const result = await runCli(['mailbox', 'list', '--config', file]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /^voicegate: cannot open the PostgreSQL store at 127\.0\.0\.1:1,127\.0\.0\.1:2\/voicegate: no server takes writes \(127\.0\.0\.1:1: .*ECONNREFUSED.*; 127\.0\.0\.1:2: .*ECONNREFUSED/m,
    );
    expect(result.stdout + result.stderr).not.toContain('hunter2');
  });
});
