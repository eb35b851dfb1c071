/**
 * The web list of a 10,000-message mailbox, against its targets:
 * 1. the first page's API response (GET /api/messages, 50 newest, brotli), p50/p99 with one
 *    client, beside GET /api/session (a trivial authenticated JSON answer) in the same run: the
 *    yardstick; and its bytes beside the whole list as it was fetched before pages (every
 *    message, uncompressed);
 * 2. the bytes a change made elsewhere costs an open page (one server-sent event);
 * 3. the first page shown in Chromium on a phone profile (360x740, CPU throttled 4x): the app
 *    opened with a session, from navigation to the frame showing its first row, timed by the
 *    page; beside the app's login form shown (the yardstick: the same page and script, no data);
 * 4. scrolling the list on a desktop (1280x800, not throttled) for 3 s, 40 px a frame, pages
 *    loading as it goes: frames per second from requestAnimationFrame's deltas, and the most
 *    rows in the document at once (the list is virtual); beside the same scrolling of an empty tall page (the
 *    yardstick: the browser's own frame rate here).
 */
import { get } from 'node:https';
import { cpus, loadavg } from 'node:os';
import { chromium, type Page } from 'playwright-core';
import { markdownTable, percentile, textTable, writeResult, type Benchmark } from './bench-kit.ts';
import { toneWav } from '../../server/media/tone.ts';
import { messageInfo } from '../../server/http/message-view.ts';
import { startTestServer } from '../helpers/test-server.ts';
import type { NewMessage } from '../../server/domain/message.ts';

const MESSAGES = 10_000;
const REQUESTS = 300;
const WARM_UP = 30;
const CHANGES = 20;
const PAGE_LOADS = 5;
const SCROLL_MS = 3000;

/** What scrollFrames uses of the page's window (it runs in Chromium, not in Node). */
interface PageWindow {
  scrollBy(x: number, y: number): void;
  requestAnimationFrame(callback: (now: number) => void): number;
  document: { querySelectorAll(selector: string): { length: number } };
}

/** Scrolls the page 40 px a frame for scrollMs; each frame's time and the most rows shown. */
function scrollFrames(scrollMs: number): Promise<{ deltas: number[]; rows: number }> {
  const page = globalThis as unknown as PageWindow;
  return new Promise((resolve) => {
    const deltas: number[] = [];
    let rows = 0;
    let last = performance.now();
    const began = last;
    const frame = (now: number) => {
      deltas.push(now - last);
      last = now;
      page.scrollBy(0, 40);
      rows = Math.max(rows, page.document.querySelectorAll('main li').length);
      if (now - began < scrollMs) page.requestAnimationFrame(frame);
      else resolve({ deltas: deltas.slice(1), rows });
    };
    page.requestAnimationFrame(frame);
  });
}

/**
 * Runs in the page from its start: notes when the login form's code field, and the list's
 * first row, are first on screen (the frame after they enter the document), in ms from the
 * navigation's start. Timed by the page itself: polling from outside would take the throttled
 * page's CPU and be counted.
 */
function markFirst(): void {
  const page = globalThis as unknown as {
    __shown: Record<string, number>;
    document: { querySelector(selector: string): unknown };
    requestAnimationFrame(callback: (now: number) => void): number;
    MutationObserver: new (callback: () => void) => {
      observe(target: unknown, options: object): void;
    };
  };
  page.__shown = {};
  const marks = { form: 'input[type=password]', row: 'ul[aria-label] li a' };
  new page.MutationObserver(() => {
    for (const [name, selector] of Object.entries(marks))
      if (!(name in page.__shown) && page.document.querySelector(selector)) {
        page.__shown[name] = -1;
        page.requestAnimationFrame(() => (page.__shown[name] = performance.now()));
      }
  }).observe(page.document, { childList: true, subtree: true });
}

/** When markFirst saw `name` on screen, waiting for it without polling the page often. */
async function shownAt(tab: Page, name: 'form' | 'row'): Promise<number> {
  // Each function runs in the page, on its own: nothing of this module is there.
  const at = (mark: string) =>
    (globalThis as unknown as { __shown?: Record<string, number> }).__shown?.[mark] ?? -1;
  const ready = (mark: string) =>
    ((globalThis as unknown as { __shown?: Record<string, number> }).__shown?.[mark] ?? -1) > 0;
  await tab.waitForFunction(ready, name, { polling: 250, timeout: 30_000 });
  return tab.evaluate(at, name);
}

const benchmark: Benchmark = {
  name: 'web-list',
  title: 'Web list: a 10,000-message mailbox, first page on a throttled phone, API p99, bytes',
  run,
};
export default benchmark;

async function timed(url: string, init: RequestInit): Promise<{ ms: number; bytes: number }> {
  const start = performance.now();
  const res = await fetch(url, init);
  const body = new Uint8Array(await res.arrayBuffer());
  if (!res.ok) throw new Error(`${url}: ${res.status}`);
  return {
    ms: performance.now() - start,
    bytes: Number(res.headers.get('content-length') ?? body.length),
  };
}

/** The bytes of an answer as they travel (compressed), not as fetch hands them over. */
function wireBytes(url: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    get(url, { headers, rejectUnauthorized: false }, (res) => {
      let n = 0;
      res.on('data', (chunk: Buffer) => (n += chunk.length));
      res.on('end', () => resolve(n));
    }).on('error', reject);
  });
}

async function run(): Promise<void> {
  const loadBefore = loadavg()[0]!;
  const server = await startTestServer();
  process.env.NODE_TLS_REJECT_UNAUTHORIZED = '0';
  try {
    const { context } = server;
    const box = await context.mailboxes.add({ name: 'big', extension: '300' }, '1234');
    const key = await context.audio.put(toneWav({ seconds: 2 }));
    const start = Date.now() - MESSAGES * 60_000;
    for (let i = 0; i < MESSAGES; i += 1000) {
      const batch: NewMessage[] = [];
      for (let j = i; j < Math.min(MESSAGES, i + 1000); j++) {
        const id = crypto.randomUUID();
        batch.push({
          id,
          identity: `${id}@bench`,
          mailboxId: box.id,
          kind: 'message',
          callerNumber: `+1555${String(j).padStart(7, '0')}`,
          callerName: `Caller ${j}`,
          receivedAt: start + j * 60_000,
          audio: { key, format: 'wav/pcm16/8000', bytes: 32_044, durationMs: 2000 },
          priority: j % 10 === 0 ? 'high' : 'normal',
          private: false,
          originServer: 'bench',
          forwardedFrom: null,
        });
      }
      await context.store.addMessages(batch, Date.now());
    }
    const base = server.urls.http;
    const login = await fetch(`${base}/api/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ mailbox: 'big', code: '1234' }),
    });
    const cookie = login.headers.get('set-cookie')!.split(';')[0]!;
    const headers = { cookie, 'accept-encoding': 'br, gzip' };

    // 1. API: the first page beside the yardstick, interleaved so both see the same machine.
    const page: { ms: number; bytes: number }[] = [];
    const session: { ms: number; bytes: number }[] = [];
    for (let i = 0; i < WARM_UP + REQUESTS; i++) {
      const p = await timed(`${base}/api/messages?limit=50`, { headers });
      const s = await timed(`${base}/api/session`, { headers });
      if (i < WARM_UP) continue;
      page.push(p);
      session.push(s);
    }
    const pageBytes = await wireBytes(`${base}/api/messages?limit=50`, headers);
    const all = await context.messages.list(box.id);
    const wholeListBytes = Buffer.byteLength(
      JSON.stringify({ messages: all.map((m) => messageInfo(m, box)) }),
    );

    // 2. Bytes per change: one server-sent event per message changed elsewhere.
    const events = await fetch(`${base}/api/events`, { headers: { cookie } });
    const reader = events.body!.getReader();
    const first = await reader.read(); // "retry:" line
    let received = 0;
    let count = 0;
    const reading = (async () => {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        received += value.length;
        count += new TextDecoder().decode(value).split('event: change').length - 1;
        if (count >= CHANGES) return;
      }
    })();
    const some = all.slice(0, CHANGES);
    for (const m of some) await context.messages.act(box.id, m.id, 'save');
    await reading;
    await reader.cancel();
    void first;
    const bytesPerChange = received / CHANGES;

    // 3. The browser: a phone profile, CPU throttled 4x.
    const browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
    const shown: number[] = [];
    const form: number[] = [];
    let scroll = { deltas: [] as number[], rows: 0 };
    let blank = { deltas: [] as number[], rows: 0 };
    try {
      for (let i = 0; i < PAGE_LOADS; i++) {
        const ctx = await browser.newContext({
          ignoreHTTPSErrors: true,
          viewport: { width: 360, height: 740 },
          isMobile: true,
          hasTouch: true,
          baseURL: base,
        });
        const tab = await ctx.newPage();
        await tab.addInitScript(markFirst);
        const cdp = await ctx.newCDPSession(tab);
        await cdp.send('Emulation.setCPUThrottlingRate', { rate: 4 });
        await tab.goto('/');
        form.push(await shownAt(tab, 'form'));
        await tab.getByLabel('Mailbox name or extension').fill('300');
        await tab.getByLabel('Voicemail code').fill('1234');
        await tab.getByRole('button', { name: 'Log in' }).click();
        await tab.getByRole('list', { name: 'Messages' }).getByRole('link').first().waitFor();
        // Opening the app with a session: from navigation to the first page's first row.
        await tab.reload();
        shown.push(await shownAt(tab, 'row'));
        await ctx.close();
      }
      // 4. Scrolling on a desktop, then the yardstick in the same browser.
      const desk = await browser.newContext({
        ignoreHTTPSErrors: true,
        viewport: { width: 1280, height: 800 },
        baseURL: base,
      });
      const tab = await desk.newPage();
      await tab.goto('/');
      await tab.getByLabel('Mailbox name or extension').fill('300');
      await tab.getByLabel('Voicemail code').fill('1234');
      await tab.getByRole('button', { name: 'Log in' }).click();
      await tab.getByRole('list', { name: 'Messages' }).getByRole('link').first().waitFor();
      scroll = await tab.evaluate(scrollFrames, SCROLL_MS);
      await tab.setContent('<ul style="height: 200000px"><li>yardstick</li></ul>');
      blank = await tab.evaluate(scrollFrames, SCROLL_MS);
      await desk.close();
    } finally {
      await browser.close();
    }

    const ms = (values: number[], p: number) => percentile(values, p).toFixed(1);
    const fps = (deltas: number[]) =>
      deltas.length / (deltas.reduce((sum, d) => sum + d, 0) / 1000);
    const pageMs = page.map((x) => x.ms);
    const sessionMs = session.map((x) => x.ms);
    const table = {
      head: ['measure', 'Voicegate', 'yardstick', 'ratio', 'target'],
      rows: [
        [
          'first page API p50 (ms)',
          ms(pageMs, 50),
          ms(sessionMs, 50),
          (percentile(pageMs, 50) / percentile(sessionMs, 50)).toFixed(2),
          '',
        ],
        [
          'first page API p99 (ms)',
          ms(pageMs, 99),
          ms(sessionMs, 99),
          (percentile(pageMs, 99) / percentile(sessionMs, 99)).toFixed(2),
          '< 20',
        ],
        [
          'first page bytes (br) vs whole list before (JSON)',
          String(pageBytes),
          String(wholeListBytes),
          (pageBytes / wholeListBytes).toFixed(4),
          '',
        ],
        ['bytes per change on the wire', bytesPerChange.toFixed(0), '', '', '< 2048'],
        [
          'desktop scrolling: frames per second',
          fps(scroll.deltas).toFixed(1),
          fps(blank.deltas).toFixed(1),
          (fps(scroll.deltas) / fps(blank.deltas)).toFixed(2),
          '60',
        ],
        [
          'desktop scrolling: frame time p95 (ms)',
          ms(scroll.deltas, 95),
          ms(blank.deltas, 95),
          (percentile(scroll.deltas, 95) / percentile(blank.deltas, 95)).toFixed(2),
          '',
        ],
        ['desktop scrolling: most rows in the document', String(scroll.rows), '', '', ''],
        [
          'phone 4x throttled: app opened to first row, median (ms)',
          ms(shown, 50),
          ms(form, 50),
          (percentile(shown, 50) / percentile(form, 50)).toFixed(2),
          '< 1000',
        ],
      ],
    };
    const load = `load average (1 min) ${loadBefore.toFixed(1)} before the run, ${loadavg()[0]!.toFixed(1)} after, on ${cpus().length} cores shared with other work`;
    console.log(textTable(table));
    console.log(load);
    const path = writeResult(
      'web-list',
      `Mailbox of ${MESSAGES} messages; API over HTTPS on loopback, one client, ${REQUESTS} requests after ${WARM_UP}; yardstick GET /api/session in the same run. Browser: Chromium, 360x740, CPU throttled 4x, ${PAGE_LOADS} loads; yardstick: the login form shown. Scrolling: 1280x800, not throttled, ${SCROLL_MS} ms at 40 px a frame; yardstick: an empty tall page scrolled the same way. The ${load}.\n\n${markdownTable(table)}`,
      { pageMs, sessionMs, wholeListBytes, bytesPerChange, shown, form, scroll, blank },
    );
    console.log(`written: ${path}`);
  } finally {
    await server.stop();
  }
}
