import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { SecretBox } from '../../server/domain/secret-box.ts';
import { parseReadEmail } from '../../server/domain/email-reading.ts';

describe('secrets sealed under the server key', () => {
  it('opens what it sealed, differently each time, and never shows the secret', () => {
    const box = new SecretBox(randomBytes(32));
    const a = box.seal('p@ssw0rd é');
    const b = box.seal('p@ssw0rd é');
    expect(a).not.toBe(b);
    expect(a).not.toContain('p@ssw0rd');
    expect(box.open(a)).toBe('p@ssw0rd é');
  });

  it('refuses another key and an altered secret with a clear error', () => {
    const sealed = new SecretBox(randomBytes(32)).seal('secret');
    expect(() => new SecretBox(randomBytes(32)).open(sealed)).toThrow(/another key file/);
    const box = new SecretBox(randomBytes(32));
    const good = box.seal('secret');
    const bad = good.slice(0, -2) + (good.endsWith('A') ? 'BB' : 'AA');
    expect(() => box.open(bad)).toThrow(/does not open/);
    expect(() => box.open('plain')).toThrow(/not in a known form/);
    expect(() => new SecretBox(randomBytes(16))).toThrow(/32 bytes/);
  });
});

describe('the --read-email choice', () => {
  it('reads TLS and port from the URL', () => {
    expect(parseReadEmail('imaps://bob@mail.example')).toEqual({
      source: 'imap',
      imap: { host: 'mail.example', port: 993, tls: 'implicit', user: 'bob', auth: 'password' },
    });
    expect(parseReadEmail('imap://bob@127.0.0.1:1143?tls=none')).toMatchObject({
      imap: { port: 1143, tls: 'none' },
    });
    expect(parseReadEmail('off')).toEqual({ source: 'off' });
    expect(() => parseReadEmail('imap://mail.example')).toThrow(/no user name/);
    expect(() => parseReadEmail('imap://a@mail.example/INBOX')).toThrow(/no path/);
    expect(() => parseReadEmail('imap://a@mail.example?tls=maybe')).toThrow(/tls is/);
  });
});
