import { describe, expect, it } from 'vitest';
import { DialPlan } from '../../server/domain/dial-plan.ts';
import type { Mailbox } from '../../server/domain/mailbox.ts';
import { Dialler } from '../../server/telephony/dialler.ts';

function dialler(opts: { pbxHost?: string; contacts?: Record<string, string> } = {}) {
  const warnings: object[] = [];
  const log = {
    info: () => {},
    debug: () => {},
    error: () => {},
    warn: (obj: object) => warnings.push(obj),
  };
  const d = new Dialler({
    plan: new DialPlan(['9NXXXXXX']),
    mailboxes: { list: async () => [{ extension: '201' }, { extension: null }] as Mailbox[] },
    registrar: { contactOf: (ext) => opts.contacts?.[ext] ?? null },
    pbxHost: opts.pbxHost ?? '',
    domain: 'voicegate.example',
    log,
  });
  return { d, warnings };
}

describe('the dialler', () => {
  it('builds the URI itself: the PBX, else a registered phone, else server.domain', async () => {
    const viaPbx = dialler({ pbxHost: 'pbx.example:5060' }).d;
    expect(await viaPbx.transferUri('95550100')).toBe('sip:95550100@pbx.example:5060');
    expect(await viaPbx.transferUri('+201')).toBeNull();
    const noPbx = dialler({ contacts: { '201': 'sip:201@192.0.2.7:5062' } }).d;
    expect(await noPbx.transferUri('201')).toBe('sip:201@192.0.2.7:5062');
    expect(await noPbx.transferUri('95550100')).toBe('sip:95550100@voicegate.example');
    expect(await noPbx.transferUri('*9#')).toBeNull();
  });

  it('refuses a URI from caller data, logs it cleaned and counts it', async () => {
    const { d, warnings } = dialler({ pbxHost: 'pbx.example' });
    expect(await d.transferUri('sip:premium-rate@evil.example;transport=tcp\r\nX: 1')).toBeNull();
    expect(await d.transferUri('0899123456')).toBeNull();
    expect(await d.transferUri('201')).toBe('sip:201@pbx.example');
    expect(d.stats()).toEqual({ allowed: 1, refused: 2 });
    expect(warnings).toEqual([
      {
        kind: 'transfer',
        target: 'sip:premium-rate@evil.example;transport=tcp??X: 1',
        reason: 'not-a-number',
        refused: 1,
      },
      { kind: 'transfer', target: '0899123456', reason: 'not-in-dial-plan', refused: 2 },
    ]);
  });
});
