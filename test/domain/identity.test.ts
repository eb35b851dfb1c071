import { describe, expect, it } from 'vitest';
import { isVoicegateError } from '../../server/domain/errors.ts';
import { checkIdentity, identityFromMessageId, newIdentity } from '../../server/domain/identity.ts';

describe('voicemail identities', () => {
  it('are a ULID at the server that recorded the voicemail', () => {
    expect(newIdentity('01KAZ3N5Q8W2E4R6T8Y0V2H4J6', 'site-a')).toBe(
      '01KAZ3N5Q8W2E4R6T8Y0V2H4J6@site-a',
    );
  });

  it("come from a mail's Message-ID when it has the form of one", () => {
    expect(identityFromMessageId('<01KAZ3N5Q8W2E4R6T8Y0V2H4J6@site-a>')).toBe(
      '01KAZ3N5Q8W2E4R6T8Y0V2H4J6@site-a',
    );
    expect(identityFromMessageId(' <CAF+x7=1_a.b@mail.example.com> ')).toBe(
      'CAF+x7=1_a.b@mail.example.com',
    );
    expect(identityFromMessageId('<abc@[192.0.2.1]>')).toBe('abc@[192.0.2.1]');
  });

  it('are not taken from a Message-ID of another form: such a mail gets one of its own', () => {
    for (const header of [
      undefined,
      '',
      'abc@example.com',
      '<abc>',
      '<a b@example.com>',
      '<abc@example.com> <def@example.com>',
      '<.abc@example.com>',
      '<abc@example..com>',
      `<${'x'.repeat(250)}@example.com>`,
      '<abc@exa\u00e9mple.com>',
    ])
      expect(identityFromMessageId(header), String(header)).toBeNull();
  });

  it('handed in by a channel are checked', () => {
    expect(checkIdentity('a@b')).toBe('a@b');
    let refusal: unknown;
    try {
      checkIdentity('<a@b>');
    } catch (err) {
      refusal = err;
    }
    expect(isVoicegateError(refusal, 'INVALID_INPUT')).toBe(true);
  });
});
