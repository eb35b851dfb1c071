import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { isRetryable, VoicegateError } from '../../server/domain/errors.ts';
import { createLogger } from '../../server/log.ts';

describe('retry decisions', () => {
  it('retries what may pass later, never what will fail again', () => {
    expect(isRetryable(new VoicegateError('UNAVAILABLE', 'busy'))).toBe(true);
    expect(isRetryable(new VoicegateError('STORAGE_FULL', 'full'))).toBe(true);
    expect(isRetryable(Object.assign(new Error('reset'), { code: 'ECONNRESET' }))).toBe(true);
    for (const code of [
      'NOT_FOUND',
      'BAD_AUDIO',
      'AUTH_FAILED',
      'FORBIDDEN',
      'TOO_LONG',
    ] as const) {
      expect(isRetryable(new VoicegateError(code, 'x'))).toBe(false);
    }
    expect(isRetryable(new Error('bug'))).toBe(false);
  });
});

describe('logs', () => {
  it('never write codes, passwords or secrets', () => {
    let out = '';
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        out += chunk.toString();
        done();
      },
    });
    const log = createLogger('info', sink);
    log.info({ mailbox: 'alice', code: '4711', password: 'hunter2' }, 'login');
    log.info(
      { req: { headers: { authorization: 'Basic c2VjcmV0', cookie: 'sid=abc' } } },
      'request',
    );
    log.info({ session: { token: 's3cr3t' } }, 'session');
    expect(out).toContain('"mailbox":"alice"');
    for (const secret of ['4711', 'hunter2', 'c2VjcmV0', 'sid=abc', 's3cr3t'])
      expect(out).not.toContain(secret);
    expect(out.match(/\[redacted\]/g)?.length).toBe(5);
  });
});
