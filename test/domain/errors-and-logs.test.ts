import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../server/log.ts';

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
