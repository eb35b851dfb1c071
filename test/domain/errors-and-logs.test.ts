import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { VoicegateError } from '../../server/domain/errors.ts';
import { createLogger } from '../../server/log.ts';

/** A logger at info level and everything it wrote. */
function capture(): { log: ReturnType<typeof createLogger>; out: () => string } {
  let out = '';
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      out += chunk.toString();
      done();
    },
  });
  return { log: createLogger('info', sink), out: () => out };
}

describe('logs', () => {
  it('keep a logged error’s code readable', () => {
    const { log, out } = capture();
    log.error({ err: new VoicegateError('NOT_FOUND', 'no such message') }, 'failed');
    log.info({ messageId: 'm1', code: 'INVALID_STATE' }, 'message changed elsewhere');
    log.warn({ report: { err: { code: 'ECONNRESET' } } }, 'imap connection error');
    const [failed, changed, reset] = out()
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(failed.err).toMatchObject({ type: 'VoicegateError', code: 'NOT_FOUND' });
    expect(changed.code).toBe('INVALID_STATE');
    expect(reset.report.err.code).toBe('ECONNRESET');
    expect(out()).not.toContain('[redacted]');
  });

  it('never write voicemail codes, passwords, HA1s, tokens or secret headers', () => {
    const { log, out } = capture();
    log.info({ mailbox: 'alice', password: 'hunter2' }, 'login');
    log.info({ body: { mailbox: 'alice', code: '4711' } }, 'login body');
    log.info({ req: { body: { mailbox: 'alice', code: '4712' } } }, 'request body');
    log.info({ mailbox: 'alice', oldCode: '4713', newCode: '4714' }, 'code change');
    log.info(
      {
        req: {
          headers: {
            authorization: 'Basic c2VjcmV0',
            cookie: 'sid=abc',
            'x-csrf-token': 'csrf-1',
          },
        },
        res: { headers: { 'set-cookie': 'sid=def' } },
      },
      'request',
    );
    log.info({ session: { sessionToken: 's3cr3t', csrfToken: 'csrf-2' } }, 'session');
    log.info({ config: { sip: { pbx: { username: 'trunk', password: 'pbx-pass' } } } }, 'config');
    log.info({ credentials: { username: '201', ha1: 'a1b2c3' } }, 'register');
    log.info(
      { mailbox: { name: 'bob', codeHash: 'scrypt$h1', sip: { ha1Md5: 'h2', ha1Sha256: 'h3' } } },
      'mailbox',
    );
    log.info({ sip: { headers: { 'proxy-authorization': 'Digest response="d1"' } } }, 'sip');
    expect(out()).toContain('"mailbox":"alice"');
    expect(out()).toContain('"username":"trunk"');
    for (const secret of [
      'hunter2',
      '4711',
      '4712',
      '4713',
      '4714',
      'c2VjcmV0',
      'sid=abc',
      'sid=def',
      'csrf-1',
      'csrf-2',
      's3cr3t',
      'pbx-pass',
      'a1b2c3',
      'scrypt$h1',
      '"h2"',
      '"h3"',
      'response="d1"',
    ])
      expect(out(), secret).not.toContain(secret);
  });
});
