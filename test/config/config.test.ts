import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import YAML from 'yaml';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  applyOverrides,
  loadConfig,
  maskSecrets,
  validateConfig,
} from '../../server/config/load.ts';
import { configTemplate } from '../../server/config/template.ts';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'voicegate-config-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function message(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    return (err as Error).message;
  }
  return 'no error';
}

describe('config validation', () => {
  it('fills every default from an empty file', () => {
    const c = validateConfig({});
    expect(c.http).toMatchObject({ host: '127.0.0.1', port: 8443, tls: true });
    expect(c.imap).toMatchObject({ port: 143, tlsPort: 993, allowPlaintextAuth: false });
    expect(c.policy).toEqual({
      minMessageSeconds: 1,
      maxMessageSeconds: 120,
      minCodeLength: 4,
      lockout: { failures: 5, minutes: 15, perAddressFailures: 20 },
    });
    expect(c.housekeeping.playbackOrder).toBe('fifo');
    expect(c.limits).toEqual({
      perAddress: 50,
      total: 2000,
      handshakeSeconds: 10,
      preAuthSeconds: 180,
    });
    expect(c.sip).toMatchObject({ maxCallsPerSource: 10, trustedPeers: [], dialPlan: [] });
  });

  it('the commented template says the same as the defaults', () => {
    const fromTemplate = validateConfig(YAML.parse(configTemplate()));
    expect(fromTemplate).toEqual(validateConfig({}));
  });

  it('names the bad key and why', () => {
    expect(message(() => validateConfig({ http: { port: 'eighty' } }))).toBe(
      'config key "http.port" is invalid ("eighty"): expected integer',
    );
    expect(message(() => validateConfig({ imap: { tlsPort: 70000 } }))).toMatch(
      /^config key "imap.tlsPort" is invalid \(70000\)/,
    );
    expect(message(() => validateConfig({ http: { prot: 1 } }))).toBe(
      'unknown config key "http.prot"',
    );
    expect(message(() => validateConfig({ colour: 'blue' }))).toBe('unknown config key "colour"');
    expect(message(() => validateConfig({ server: { role: 'master' } }))).toBe(
      'config key "server.role" is invalid ("master"): expected one of standalone, central, backup, distributed',
    );
    expect(message(() => validateConfig({ policy: { maxMessageSeconds: 4000 } }))).toMatch(
      /policy.maxMessageSeconds/,
    );
    expect(message(() => validateConfig({ policy: { minCodeLength: 16 } }))).toMatch(
      /policy.minCodeLength/,
    );
    expect(message(() => validateConfig({ server: { timeZone: 'Nowhere/Town' } }))).toMatch(
      /server.timeZone.*not a known time zone/,
    );
    expect(message(() => validateConfig(['a']))).toMatch(/YAML mapping/);
  });

  it('reports YAML syntax errors and a missing file clearly', () => {
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, 'http:\n  port: [1, 2\n');
    expect(message(() => loadConfig(file))).toMatch(/bad\.yaml is not valid YAML/);
    expect(message(() => loadConfig(join(dir, 'missing.yaml')))).toMatch(
      /no config file at .*voicegate init/,
    );
  });
});

describe('overrides and paths', () => {
  it('--set overrides any key with typed values', () => {
    const raw: Record<string, unknown> = { http: { port: 1 } };
    applyOverrides(raw, [
      'http.port=8080',
      'imap.allowPlaintextAuth=true',
      'server.name=vg2',
      'policy.lockout.minutes=1.5',
    ]);
    const c = validateConfig(raw);
    expect(c.http.port).toBe(8080);
    expect(c.imap.allowPlaintextAuth).toBe(true);
    expect(c.server.name).toBe('vg2');
    expect(c.policy.lockout.minutes).toBe(1.5);
    expect(message(() => applyOverrides({}, ['http.port']))).toMatch(/expected key=value/);
    expect(
      message(() =>
        validateConfig(
          (() => {
            const r = {};
            applyOverrides(r, ['http.nope=1']);
            return r;
          })(),
        ),
      ),
    ).toBe('unknown config key "http.nope"');
  });

  it('resolves the data folder and certificate against the config file', () => {
    const file = join(dir, 'voicegate.yaml');
    writeFileSync(file, 'server:\n  dataDir: store\ntls:\n  cert: /etc/vg/cert.pem\n');
    const loaded = loadConfig(file);
    expect(loaded.dataDir).toBe(join(dir, 'store'));
    expect(loaded.tlsCert).toBe('/etc/vg/cert.pem');
    expect(loaded.tlsKey).toBe(join(dir, 'store', 'tls/key.pem'));
  });

  it('masks secrets', () => {
    const c = {
      smtp: [{ host: 'mail.example.com', password: 'hunter2', authToken: 't0k3n' }],
      http: { port: 1 },
    };
    const masked = maskSecrets(c);
    expect(masked).toEqual({
      smtp: [{ host: 'mail.example.com', password: '********', authToken: '********' }],
      http: { port: 1 },
    });
    expect(c.smtp[0]!.password).toBe('hunter2');
  });
});
