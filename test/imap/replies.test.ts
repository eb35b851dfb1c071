// Every domain error code has an IMAP reply, and the hook wrapper sends it as `NO [CODE]`.
import { describe, expect, it, vi } from 'vitest';
import { ERROR_CODES, VoicegateError, type ErrorCode } from '../../server/domain/errors.ts';
import { hook, type ImapSession } from '../../imap/imap-core.ts';
import { IMAP_REPLY, imapResponseCode, isInternal } from '../../imap/replies.ts';

/** RFC 5530's response codes, plus RFC 3501's and RFC 9208's that a refusal can carry. */
const RESPONSE_CODES = [
  'UNAVAILABLE',
  'AUTHENTICATIONFAILED',
  'AUTHORIZATIONFAILED',
  'EXPIRED',
  'PRIVACYREQUIRED',
  'CONTACTADMIN',
  'NOPERM',
  'INUSE',
  'EXPUNGEISSUED',
  'CORRUPTION',
  'SERVERBUG',
  'CLIENTBUG',
  'CANNOT',
  'LIMIT',
  'OVERQUOTA',
  'ALREADYEXISTS',
  'NONEXISTENT',
  'TRYCREATE',
  'READ-ONLY',
];

const codes = Object.keys(ERROR_CODES) as ErrorCode[];

describe('IMAP replies', () => {
  it.each(codes)('%s has a response code', (code) => {
    expect(RESPONSE_CODES).toContain(IMAP_REPLY[code]);
    expect(imapResponseCode(new VoicegateError(code, 'x'))).toBe(IMAP_REPLY[code]);
  });

  it('has no entry for a code the domain does not have', () => {
    expect(Object.keys(IMAP_REPLY).sort()).toEqual([...codes].sort());
  });

  it('maps the codes clients act on', () => {
    expect(IMAP_REPLY).toMatchObject({
      NOT_FOUND: 'NONEXISTENT',
      AUTH_FAILED: 'AUTHENTICATIONFAILED',
      UNAVAILABLE: 'UNAVAILABLE',
      STORAGE_FULL: 'OVERQUOTA',
      FORBIDDEN: 'NOPERM',
    });
  });

  it('treats an error that is not the domain’s as a server bug', () => {
    expect(imapResponseCode(new TypeError('oops'))).toBe('SERVERBUG');
    expect(isInternal(new TypeError('oops'))).toBe(true);
    expect(isInternal(new VoicegateError('INTERNAL', 'x'))).toBe(true);
    expect(isInternal(new VoicegateError('NOT_FOUND', 'x'))).toBe(false);
  });
});

describe('the hook wrapper', () => {
  const session = { id: 'c1' } as ImapSession;
  const run = async (fail: unknown) => {
    const onError = vi.fn();
    const wrapped = hook(async (_folder: string, _s: ImapSession) => {
      throw fail;
    }, onError);
    const result = await new Promise<unknown[]>((resolve) =>
      wrapped('INBOX', session, (...args) => resolve(args)),
    );
    return { result, onError };
  };

  it('answers a domain error with its response code and reports it with the session', async () => {
    const err = new VoicegateError('NOT_FOUND', 'no such message');
    const { result, onError } = await run(err);
    expect(result).toEqual([null, 'NONEXISTENT']);
    expect(onError).toHaveBeenCalledWith(err, session);
  });

  it('answers any other error with SERVERBUG', async () => {
    const { result } = await run(new Error('disk on fire'));
    expect(result).toEqual([null, 'SERVERBUG']);
  });

  it('passes a reply meant for the client on as it is, reporting only its cause', async () => {
    const plain = Object.assign(new Error('locked'), { response: 'NO' });
    const quiet = await run(plain);
    expect(quiet.result).toEqual([plain]);
    expect(quiet.onError).not.toHaveBeenCalled();
    const cause = new VoicegateError('UNAVAILABLE', 'store busy');
    const caused = Object.assign(new Error('busy', { cause }), { response: 'NO' });
    const loud = await run(caused);
    expect(loud.result).toEqual([caused]);
    expect(loud.onError).toHaveBeenCalledWith(cause, session);
  });
});
