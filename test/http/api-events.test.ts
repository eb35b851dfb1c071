import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toneWav } from '../../server/media/tone.ts';
import { runCli } from '../helpers/cli.ts';
import { startTestServer, type TestServer } from '../helpers/test-server.ts';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

let server: TestServer;
beforeAll(async () => {
  // Plain HTTP, as behind a reverse proxy, so the test can use fetch without a certificate.
  server = await startTestServer(['http.tls=false']);
  await server.context.mailboxes.add({ name: 'alice', extension: '201' }, '1234');
  await server.context.mailboxes.add({ name: 'bob' }, '1234');
});
afterAll(async () => server.stop());

/** Reads server-sent events, resolving each awaited `next` with the next `change` and when it came. */
async function subscribe(cookie: string) {
  const controller = new AbortController();
  const res = await fetch(`${server.urls.http}/api/events`, {
    headers: { cookie },
    signal: controller.signal,
  });
  expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  const events: {
    data: { kind: string; messageId: string | null; state: string | null; [k: string]: unknown };
    at: number;
  }[] = [];
  void (async () => {
    for (;;) {
      const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true }));
      if (done) return;
      buffer += value;
      let end;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const data = /^event: change\ndata: (.*)$/m.exec(block);
        if (data) events.push({ data: JSON.parse(data[1]!), at: performance.now() });
      }
    }
  })();
  return {
    events,
    async waitFor(pred: (e: (typeof events)[number]) => boolean, ms = 2000) {
      const deadline = performance.now() + ms;
      for (;;) {
        const hit = events.find(pred);
        if (hit) return hit;
        if (performance.now() > deadline)
          throw new Error(`no such event; got ${JSON.stringify(events)}`);
        await new Promise((r) => setTimeout(r, 10));
      }
    },
    close: () => controller.abort(),
  };
}

describe('live updates (server-sent events)', () => {
  it("delivers the mailbox's own changes from any channel within a second, and nobody else's", async () => {
    const login = await fetch(`${server.urls.http}/api/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ mailbox: 'alice', code: '1234' }),
    });
    const cookie = login.headers.get('set-cookie')!.split(';')[0]!;
    expect(login.headers.get('set-cookie')).not.toMatch(/Secure/);
    const sse = await subscribe(cookie);

    const before = performance.now();
    const [m] = await server.context.messages.deposit({
      mailbox: 'alice',
      audio: toneWav({ seconds: 2 }),
    });
    const added = await sse.waitFor((e) => e.data.kind === 'added');
    expect(added.data).toMatchObject({
      kind: 'added',
      messageId: m!.id,
      state: 'new',
      message: { id: m!.id, state: 'new', caller: 'Unknown caller' },
      counts: { new: 1, old: 0, saved: 0, deleted: 0 },
    });
    // The event carries the message: well under 2 KB on the wire.
    expect(JSON.stringify(added.data).length).toBeLessThan(2048);
    expect(added.at - before).toBeLessThan(1000);

    // A change made by another process (the CLI), as IMAP or the phone would make one.
    const file = join(server.dir, 'x.wav');
    writeFileSync(file, toneWav({ seconds: 2 }));
    await server.context.messages.deposit({ mailbox: 'bob', audio: toneWav({ seconds: 2 }) });
    const cli = await runCli(['--config', server.configFile, 'deposit', '201', file]);
    const exited = performance.now();
    expect(cli.code, cli.stderr).toBe(0);
    const second = await sse.waitFor((e) => e.data.kind === 'added' && e.data.messageId !== m!.id);
    expect(second.at - exited).toBeLessThan(1000);

    await server.context.messages.act(m!.mailboxId, m!.id, 'save');
    expect((await sse.waitFor((e) => e.data.kind === 'changed')).data).toMatchObject({
      kind: 'changed',
      messageId: m!.id,
      state: 'saved',
      message: { id: m!.id, state: 'saved' },
      counts: { new: 1, saved: 1 },
    });
    // A deletion moves the message to the trash (two journal entries): one event, as it is now.
    await server.context.messages.act(m!.mailboxId, m!.id, 'delete');
    const deleted = await sse.waitFor((e) => e.data.state === 'deleted');
    expect(deleted.data).toMatchObject({ message: { state: 'deleted', deletedFrom: 'saved' } });
    await server.context.messages.purge(m!.mailboxId, [m!.id]);
    expect((await sse.waitFor((e) => e.data.kind === 'removed')).data).toMatchObject({
      messageId: m!.id,
      message: null,
    });
    expect(
      sse.events.filter((e) => e.data.messageId === m!.id && e.data.state === 'deleted'),
    ).toHaveLength(1);
    // Bob's message never showed up in Alice's stream.
    expect(
      sse.events.filter((e) => e.data.kind === 'added' && e.data.state === 'new'),
    ).toHaveLength(2);
    sse.close();
  });

  it('refuses the stream without a session', async () => {
    expect((await fetch(`${server.urls.http}/api/events`)).status).toBe(401);
  });
});
