import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Message } from '../../server/domain/message.ts';
import { toneWav } from '../../server/media/tone.ts';
import { startTestServer, type TestServer } from '../helpers/test-server.ts';

const SCRIPT = fileURLToPath(new URL('./fixtures/clients-imaplib.py', import.meta.url));

let server: TestServer;
let message: Message;
beforeAll(async () => {
  server = await startTestServer();
  await server.context.mailboxes.add({ name: 'alice', extension: '201' }, '1234');
  message = (
    await server.context.messages.deposit({
      mailbox: '201',
      audio: toneWav({ seconds: 2 }),
      callerNumber: '5551234',
      callerName: 'Joe',
    })
  )[0]!;
});
afterAll(async () => server?.stop());

interface Step {
  step: string;
  [field: string]: unknown;
}

/**
 * Runs the imaplib script and hands out its JSON lines one by one, with the time each arrived,
 * so the test can act (deposit a message) while the script idles.
 */
function startScript() {
  const child = spawn(
    'python3',
    [
      SCRIPT,
      '127.0.0.1',
      String(server.ports.imap),
      join(server.dir, 'tls', 'cert.pem'),
      '201',
      '1234',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const seen: Step[] = [];
  const queue: { step: Step; at: number }[] = [];
  let wake: (() => void) | undefined;
  let failure: Error | undefined;
  createInterface({ input: child.stdout }).on('line', (line) => {
    const step = JSON.parse(line) as Step;
    seen.push(step);
    queue.push({ step, at: Date.now() });
    wake?.();
  });
  const exited = new Promise<number | null>((resolve) => {
    child.on('error', (err: NodeJS.ErrnoException) => {
      failure =
        err.code === 'ENOENT'
          ? new Error('python3 is not installed: run scripts/install-test-tools.sh')
          : err;
      wake?.();
      resolve(null);
    });
    child.on('close', (code) => {
      wake?.();
      resolve(code);
    });
  });
  let closed = false;
  void exited.then(() => (closed = true));

  /** The next step the script printed, which must be `name`. */
  async function next(name: string, ms = 10_000): Promise<{ step: Step; at: number }> {
    const deadline = Date.now() + ms;
    while (queue.length === 0) {
      const context = `\nsteps so far: ${JSON.stringify(seen)}\nstderr: ${stderr}`;
      if (failure) throw failure;
      if (closed) throw new Error(`script ended before "${name}"${context}`);
      if (Date.now() > deadline) throw new Error(`no "${name}" in time${context}`);
      await new Promise<void>((resolve) => {
        wake = resolve;
        setTimeout(resolve, 50);
      });
    }
    const got = queue.shift()!;
    expect(got.step.step, `steps: ${JSON.stringify(seen)}\nstderr: ${stderr}`).toBe(name);
    return got;
  }
  return { next, exited, kill: () => child.kill('SIGKILL'), stderr: () => stderr };
}

describe("Python's imaplib", () => {
  it('STARTTLS, LOGIN, SELECT, FETCH, STORE \\Seen and IDLE until a new voicemail arrives', async () => {
    const script = startScript();
    try {
      expect((await script.next('greeting')).step.text).toMatch(/^\* OK Voicegate ready/);
      expect((await script.next('starttls')).step).toMatchObject({
        typ: 'OK',
        tls: expect.stringMatching(/^TLSv1\.[23]$/),
      });
      expect((await script.next('login')).step).toMatchObject({ typ: 'OK' });
      expect((await script.next('select')).step).toMatchObject({ typ: 'OK', exists: 1 });
      expect((await script.next('fetch')).step).toMatchObject({
        typ: 'OK',
        data: ['1 (FLAGS ())'],
      });

      const store = (await script.next('store')).step;
      expect(store).toMatchObject({ typ: 'OK', data: ['1 (FLAGS (\\Seen))'] });
      expect((await server.context.store.getMessage(message.id))?.state).toBe('old');
      expect((await script.next('fetch')).step).toMatchObject({ data: ['1 (FLAGS (\\Seen))'] });

      await script.next('idling');
      const depositedAt = Date.now();
      await server.context.messages.deposit({
        mailbox: 'alice',
        audio: toneWav({ seconds: 1 }),
        callerNumber: '5559876',
      });
      const exists = await script.next('exists', 1000);
      expect(exists.step.text).toBe('* 2 EXISTS');
      expect(exists.at - depositedAt).toBeLessThan(1000);

      expect((await script.next('done')).step.text).toMatch(/^IDLE1 OK/);
      expect((await script.next('logout')).step).toMatchObject({ typ: 'BYE' });
      expect(await script.exited, script.stderr()).toBe(0);
    } finally {
      script.kill();
    }
  });
});
