/**
 * Secrets kept at rest (an e-mail account's password or token) sealed with AES-256-GCM under
 * the server's key, which lives in a file of its own outside the database: a copy of the
 * database alone (a backup, a dump) does not give the secrets away. The sealed form names its
 * version, so the scheme can change without guessing.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { VoicegateError } from './errors.ts';

const VERSION = 'v1';
export const KEY_BYTES = 32;

export class SecretBox {
  readonly #key: Buffer;

  constructor(key: Buffer) {
    if (key.length !== KEY_BYTES)
      throw new VoicegateError('INVALID_INPUT', `the server key must be ${KEY_BYTES} bytes`);
    this.#key = key;
  }

  /** `v1:<iv>:<tag>:<ciphertext>`, base64url; a fresh IV each time. */
  seal(plain: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.#key, iv);
    const data = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    const tag = cipher.getAuthTag();
    return [VERSION, iv, tag, data]
      .map((p) => (typeof p === 'string' ? p : p.toString('base64url')))
      .join(':');
  }

  /** The secret; INVALID_STATE when it was sealed under another key or altered. */
  open(sealed: string): string {
    const parts = sealed.split(':');
    if (parts.length !== 4 || parts[0] !== VERSION)
      throw new VoicegateError('INVALID_STATE', 'a stored secret is not in a known form');
    const [iv, tag, data] = parts.slice(1).map((p) => Buffer.from(p, 'base64url')) as [
      Buffer,
      Buffer,
      Buffer,
    ];
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.#key, iv);
      decipher.setAuthTag(tag);
      return Buffer.concat([decipher.update(data), decipher.final()]).toString('utf8');
    } catch {
      throw new VoicegateError(
        'INVALID_STATE',
        'a stored secret does not open with the server key (another key file?); set it again',
      );
    }
  }
}
