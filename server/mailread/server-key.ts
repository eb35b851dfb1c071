import { closeSync, openSync, readFileSync, statSync, writeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { VoicegateError } from '../domain/errors.ts';
import { KEY_BYTES, SecretBox } from '../domain/secret-box.ts';

/**
 * The server's key for secrets at rest, from its file (`readEmail.keyFile`), made at first use:
 * 32 random bytes, base64, mode 0600, created exclusively so two processes starting together
 * agree on one key. A key file others may read is refused: it would give every secret away.
 */
export function loadServerKey(path: string): SecretBox {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw keyError(path, err);
    text = create(path);
  }
  const mode = statSync(path).mode & 0o777;
  if (mode & 0o077)
    throw new VoicegateError(
      'INVALID_STATE',
      `the server key ${path} may be read by others (mode ${mode.toString(8)}); chmod 600 it`,
    );
  const key = Buffer.from(text.trim(), 'base64');
  if (key.length !== KEY_BYTES)
    throw new VoicegateError(
      'INVALID_STATE',
      `the server key ${path} is not ${KEY_BYTES} bytes of base64`,
    );
  return new SecretBox(key);
}

function create(path: string): string {
  const text = `${randomBytes(KEY_BYTES).toString('base64')}\n`;
  let fd: number;
  try {
    fd = openSync(path, 'wx', 0o600);
  } catch (err) {
    // Another process made it first: use theirs.
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return readFileSync(path, 'utf8');
    throw keyError(path, err);
  }
  try {
    writeSync(fd, text);
  } finally {
    closeSync(fd);
  }
  return text;
}

function keyError(path: string, err: unknown): VoicegateError {
  return new VoicegateError(
    'INVALID_STATE',
    `the server key ${path} cannot be read or made: ${(err as Error).message}`,
    { cause: err },
  );
}
