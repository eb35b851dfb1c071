import { createHash } from 'node:crypto';
import { copyFile, mkdir, open, readdir, readFile, rename, rm } from 'node:fs/promises';
import { basename, join } from 'node:path';
import SftpClient from 'ssh2-sftp-client';
import { VoicegateError } from '../domain/errors.ts';

/**
 * Where scheduled backups go. `upload` is whole or nothing: a partial name first, renamed once
 * every byte arrived, so `list` never shows a backup that is cut short.
 */
export interface BackupDestination {
  /** For logs: the kind and place, never a secret. */
  readonly name: string;
  upload(file: string): Promise<void>;
  list(): Promise<string[]>;
  remove(name: string): Promise<void>;
}

export function folderDestination(path: string): BackupDestination {
  return {
    name: `folder ${path}`,
    async upload(file) {
      await mkdir(path, { recursive: true, mode: 0o700 });
      const final = join(path, basename(file));
      const partial = `${final}.partial`;
      try {
        await copyFile(file, partial);
        const fh = await open(partial, 'r');
        await fh.sync().finally(() => fh.close());
        await rename(partial, final);
      } catch (err) {
        await rm(partial, { force: true });
        throw err;
      }
    },
    list: async () => {
      try {
        return await readdir(path);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
        throw err;
      }
    },
    remove: (name) => rm(join(path, name), { force: true }),
  };
}

export interface SftpSettings {
  host: string;
  port: number;
  username: string;
  /** The private key's path (OpenSSH format). */
  privateKeyFile: string;
  passphrase: string;
  /** `SHA256:` and the base64 digest, as `ssh-keygen -lf` prints it. */
  hostKeyFingerprint: string;
  path: string;
}

/** The OpenSSH form of a host key's fingerprint. */
export function fingerprint(hostKey: Buffer): string {
  return `SHA256:${createHash('sha256').update(hostKey).digest('base64').replace(/=+$/, '')}`;
}

/** An SFTP server, reached with a key, trusting only the host key named in the config. */
export function sftpDestination(s: SftpSettings): BackupDestination {
  const remote = (name: string): string => `${s.path.replace(/\/+$/, '')}/${name}`;
  const session = async <T>(fn: (client: SftpClient) => Promise<T>): Promise<T> => {
    const client = new SftpClient();
    let seen = '';
    try {
      await client.connect({
        host: s.host,
        port: s.port,
        username: s.username,
        privateKey: await readFile(s.privateKeyFile),
        passphrase: s.passphrase || undefined,
        readyTimeout: 20_000,
        hostVerifier: (key: Buffer) => {
          seen = fingerprint(key);
          return seen === s.hostKeyFingerprint;
        },
      });
    } catch (err) {
      await client.end().catch(() => {});
      if (seen && seen !== s.hostKeyFingerprint)
        throw new VoicegateError(
          'FORBIDDEN',
          `sftp ${s.host}:${s.port} presented host key ${seen}, not the configured ${s.hostKeyFingerprint}`,
        );
      throw new VoicegateError(
        'UNAVAILABLE',
        `sftp ${s.host}:${s.port}: ${(err as Error).message}`,
        { cause: err },
      );
    }
    try {
      return await fn(client);
    } finally {
      await client.end().catch(() => {});
    }
  };
  return {
    name: `sftp ${s.username}@${s.host}:${s.port}/${s.path}`,
    upload: (file) =>
      session(async (client) => {
        if (!(await client.exists(s.path))) await client.mkdir(s.path, true);
        const final = remote(basename(file));
        const partial = `${final}.partial`;
        await client.fastPut(file, partial);
        await client.rename(partial, final);
      }),
    list: () =>
      session(async (client) =>
        (await client.exists(s.path)) ? (await client.list(s.path)).map((f) => f.name) : [],
      ),
    remove: (name) =>
      session(async (client) => {
        await client.delete(remote(name), true);
      }),
  };
}
