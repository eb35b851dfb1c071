import { open, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { vi } from 'vitest';

/**
 * Holds every FileHandle fsync from now on until `release()`; `started` resolves at the first.
 * `dir` is an embedded store's data folder (its database is opened to reach FileHandle's
 * prototype). Undone by `vi.restoreAllMocks()`.
 */
export async function holdFsyncs(
  dir: string,
): Promise<{ started: Promise<void>; release: () => void }> {
  const probe = await open(join(dir, 'voicegate.db'), 'r');
  const proto = Object.getPrototypeOf(probe) as FileHandle;
  await probe.close();
  const sync = proto.sync;
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  let started!: () => void;
  const first = new Promise<void>((resolve) => (started = resolve));
  vi.spyOn(proto, 'sync').mockImplementation(async function (this: FileHandle) {
    started();
    await released;
    return sync.call(this);
  });
  return { started: first, release };
}

/** Whether `promise` has settled once pending callbacks ran. */
export async function isSettled(promise: Promise<unknown>): Promise<boolean> {
  let done = false;
  promise.then(
    () => (done = true),
    () => (done = true),
  );
  await new Promise((resolve) => setImmediate(resolve));
  return done;
}
