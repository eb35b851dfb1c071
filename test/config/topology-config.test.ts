import { describe, expect, it } from 'vitest';
import { maskSecrets, validateConfig } from '../../server/config/load.ts';
import { ROLE_PARTS, roleOnce } from '../../server/compose/roles.ts';
import { SINGLE_NODE } from '../../server/domain/run-once.ts';

const SECRET = '0123456789abcdef0123';
const central = { name: 'central', smtp: 'central.example.com:25', secret: SECRET };
const site = (name: string) => ({ name, smtp: `${name}.example.com:25`, secret: SECRET });

describe('the topology config', () => {
  it('takes a distributed server with its central, filling the defaults', () => {
    const config = validateConfig({
      server: { role: 'distributed', name: 'site1' },
      topology: { central },
    });
    expect(config.topology.central).toMatchObject({ plainText: false, domain: '', https: '' });
    expect(config.topology.failover).toEqual({
      missedBeats: 3,
      intervalSeconds: 10,
      failback: 'manual',
      timeoutSeconds: 300,
      witness: '',
      mailPingSeconds: 10,
    });
    expect(config.delivery.targets.peer).toEqual({ timeoutSeconds: 60, concurrency: 1 });
  });

  it.each([
    [
      { server: { role: 'distributed' } },
      /server\.role distributed needs config key "topology\.central"/,
    ],
    [{ server: { role: 'backup' } }, /server\.role backup needs config key "topology\.central"/],
    [{ server: { role: 'central' } }, /server\.role central needs its peers/],
    [{ topology: { central } }, /names peers but server\.role is standalone/],
    [
      { server: { role: 'central', name: 'central' }, topology: { central } },
      /"topology\.central" is set on the central itself/,
    ],
    [
      { server: { role: 'central' }, topology: { distributed: [site('a'), site('a')] } },
      /"topology\.distributed\.1\.name": "a" is used twice/,
    ],
    [
      {
        server: { role: 'central' },
        topology: { distributed: [{ ...site('a'), secret: 'short' }] },
      },
      /"topology\.distributed\.0\.secret" is too short/,
    ],
    [
      { server: { role: 'central' }, topology: { distributed: [{ name: 'a', smtp: 'a:25' }] } },
      /"topology\.distributed\.0": set one of secret and secretFile/,
    ],
    [
      { server: { role: 'central' }, topology: { distributed: [{ ...site('a'), smtp: 'a' }] } },
      /config key "topology\.distributed\.0\.smtp" is invalid \("a"\)/,
    ],
    [
      { server: { role: 'distributed' }, topology: { central, failover: { failback: 'soon' } } },
      /"topology\.failover\.failback" is invalid.*manual, graceful, automatic/,
    ],
    [
      { server: { role: 'distributed' }, topology: { central: { ...central, tls: true } } },
      /unknown config key "topology\.central\.tls"/,
    ],
  ])('refuses %j naming the key', (raw, message) => {
    expect(() => validateConfig(raw)).toThrow(message);
  });

  it('masks every peer secret when printed', () => {
    const config = validateConfig({
      server: { role: 'central' },
      topology: { distributed: [site('a'), site('b')] },
    });
    const shown = JSON.stringify(maskSecrets(config));
    expect(shown).not.toContain(SECRET);
    expect(maskSecrets(config).topology.distributed[1]!.secret).toBe('********');
  });
});

describe('the role table', () => {
  it('runs on a distributed server what serves its sites, and no lamps to the PBX', () => {
    expect(ROLE_PARTS.distributed).not.toContain('imap');
    expect(ROLE_PARTS.distributed).not.toContain('exchange-sync');
    const once = roleOnce('distributed', SINGLE_NODE);
    expect(once.runsHere('delivery')).toBe(true);
    expect(once.runsHere('pbx-lamps')).toBe(false);
    expect(roleOnce('central', SINGLE_NODE).runsHere('pbx-lamps')).toBe(true);
  });

  it("runs on a backup only its queue in standby, and the central's work once live", () => {
    let live = false;
    const once = roleOnce('backup', SINGLE_NODE, () => live);
    expect(ROLE_PARTS.backup).toContain('failover');
    expect(ROLE_PARTS.central).not.toContain('failover');
    expect(once.runsHere('delivery')).toBe(true);
    expect(once.runsHere('pbx-lamps')).toBe(false);
    expect(once.runsHere('pbx-registration')).toBe(false);
    live = true;
    expect(once.runsHere('pbx-lamps')).toBe(true);
    expect(once.runsHere('exchange-sync')).toBe(true);
    expect(roleOnce('backup', { runsHere: () => false }, () => true).runsHere('pbx-lamps')).toBe(
      false,
    );
  });
});
