/**
 * The web list of a 10,000-message mailbox, against its targets:
 * 1. the first page's API response (GET /api/messages, 50 newest, brotli), p50/p99 with one
 *    client, beside GET /api/session (a trivial authenticated JSON answer) in the same run: the
 *    yardstick (web-list-api.ts); the server is `voicegate serve` in its own process, as it
 *    runs, on a store filled before it starts (web-list-store.ts); its CPU per request, and
 *    each request over 20 ms with what the server was doing then (pause-probe.ts); and the
 *    page's bytes beside the whole list as it was fetched before pages (every message,
 *    uncompressed);
 * 2. the bytes a change made elsewhere (another tab) costs an open page (one server-sent event);
 * 3. the first page shown in Chromium on a phone profile (360x740, CPU throttled 4x): the app
 *    opened with a session, from navigation to the frame showing its first row, timed by the
 *    page; beside the app's login form shown (the yardstick: the same page and script, no data);
 * 4. scrolling the list on a desktop (1280x800, not throttled) for 3 s, 40 px a frame, pages
 *    loading as it goes: frames per second from requestAnimationFrame's deltas, and the most
 *    rows in the document at once (the list is virtual); beside the same scrolling of an empty tall page (the
 *    yardstick: the browser's own frame rate here).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { get } from 'node:https';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Page } from 'playwright-core';
import { markdownTable, percentile, textTable, writeResult, type Benchmark } from './bench-kit.ts';
import { measureApi, PAGE_PATH, SESSION_PATH, SLOW_MS, slowCauses } from './web-list-api.ts';
import { CODE, MAILBOX, seedStore } from './web-list-store.ts';
import { freePort, startVoicegate, type ServerProcess } from './web-servers.ts';

const PAUSE_PROBE = fileURLToPath(new URL('./pause-probe.ts', import.meta.url));

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

/** A web log-in of the mailbox: its session cookie and CSRF token. */
async function logIn(base: string): Promise<{ cookie: string; csrfToken: string }> {
  const res = await fetch(`${base}/api/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ mailbox: MAILBOX, code: CODE }),
  });
  if (!res.ok) throw new Error(`log-in: ${res.status}`);
  const { csrfToken } = (await res.json()) as { csrfToken: string };
  return { cookie: res.headers.get('set-cookie')!.split(';')[0]!, csrfToken };
}

async function run(): Promise<void> {
  const loadBefore = loadavg()[0]!;
  const dir = mkdtempSync(join(tmpdir(), 'voicegate-web-list-'));
  process.env.NODE_TLS_REJECT_UNAUTHORIZED = '0';
  let server: ServerProcess | undefined;
  try {
    console.log(`  seeding ${MESSAGES} messages ...`);
    const store = await seedStore(dir, MESSAGES);
    const probeFile = join(dir, 'pause-probe.json');
    const port = await freePort();
    // The server as it runs (`voicegate serve`, its own process and flags), with the probe.
    process.env.VOICEGATE_PAUSE_PROBE = probeFile;
    server = await startVoicegate(store, {
      port,
      tls: true,
      logFile: join(dir, 'voicegate.log'),
      nodeArgs: ['--import', PAUSE_PROBE],
    });
    delete process.env.VOICEGATE_PAUSE_PROBE;
    const base = `https://127.0.0.1:${port}`;
    const { cookie } = await logIn(base);
    const headers = { cookie, 'accept-encoding': 'br, gzip' };

    // 1. API: the first page beside the yardstick, interleaved so both see the same machine.
    const api = await measureApi({
      base,
      headers,
      server,
      probeFile,
      requests: REQUESTS,
      warmUp: WARM_UP,
    });
    const pageBytes = await wireBytes(base + PAGE_PATH, headers);
    const { wholeListBytes } = store;

    // 2. Bytes per change: one server-sent event per message changed in another tab.
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
    const other = await logIn(base);
    const listed = await fetch(base + PAGE_PATH, { headers: { cookie: other.cookie } });
    const { messages } = (await listed.json()) as { messages: { id: string }[] };
    for (const m of messages.slice(0, CHANGES)) {
      const res = await fetch(`${base}/api/messages/${m.id}/actions`, {
        method: 'POST',
        headers: {
          cookie: other.cookie,
          'x-csrf-token': other.csrfToken,
          'content-type': 'application/json',
        },
        body: JSON.stringify({ action: 'save' }),
      });
      if (!res.ok) throw new Error(`save: ${res.status}`);
    }
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
    const pageMs = api.page.map((x) => x.ms);
    const sessionMs = api.session.map((x) => x.ms);
    const over = (xs: number[]) => xs.filter((x) => x > SLOW_MS).length;
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
          `first page API requests over ${SLOW_MS} ms (of ${REQUESTS})`,
          String(over(pageMs)),
          String(over(sessionMs)),
          '',
          '',
        ],
        [
          'server CPU per request (ms)',
          api.cpuMsPerPage.toFixed(2),
          api.cpuMsPerSession.toFixed(2),
          (api.cpuMsPerPage / api.cpuMsPerSession).toFixed(2),
          '',
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
    const gc = api.gcSummary
      .map(
        (g) =>
          `${g.kind} ${g.count}x, ${g.totalMs.toFixed(0)} ms in all, longest ${g.maxMs.toFixed(1)} ms`,
      )
      .join('; ');
    const slow = api.slow.map(
      (r) =>
        `${r.path} ${r.ms.toFixed(1)} ms: server ${r.serverMs === null ? 'not seen' : `${r.serverMs.toFixed(1)} ms`}, collections ${r.gc.length > 0 ? r.gc.join(', ') : 'none'}`,
    );
    const causes = [PAGE_PATH, SESSION_PATH].map((path) => slowCauses(api.slow, path));
    const loads = `load average (1 min) every 50 pairs: ${api.loadAverages.map((l) => l.toFixed(1)).join(', ')}`;
    console.log(textTable(table));
    console.log(load);
    console.log(`collections in the server during the API run: ${gc || 'none'}`);
    console.log(loads);
    console.log(causes.join('\n'));
    console.log(
      `requests over ${SLOW_MS} ms:\n${slow.map((x) => `  ${x}`).join('\n') || '  none'}`,
    );
    const path = writeResult(
      'web-list',
      `Mailbox of ${MESSAGES} messages; API over HTTPS on loopback to \`voicegate serve\` (its own process, its own flags), one client (fetch, keep-alive) in the benchmark's process, ${REQUESTS} pairs after ${WARM_UP}, interleaved with the yardstick GET /api/session; CPU per request: each asked ${REQUESTS} times alone, the server process's CPU from /proc. Browser: Chromium, 360x740, CPU throttled 4x, ${PAGE_LOADS} loads; yardstick: the login form shown. Scrolling: 1280x800, not throttled, ${SCROLL_MS} ms at 40 px a frame; yardstick: an empty tall page scrolled the same way. The ${load}; ${loads}.\n\n${markdownTable(table)}\n\nCollections in the server during the API run: ${gc || 'none'}.\n\n${causes.join('.\n\n')}.\n\nRequests over ${SLOW_MS} ms:\n\n${slow.map((x) => `- ${x}`).join('\n') || '- none'}\n`,
      {
        pageMs,
        sessionMs,
        cpuMsPerPage: api.cpuMsPerPage,
        cpuMsPerSession: api.cpuMsPerSession,
        gc: api.gcSummary,
        slow: api.slow,
        loadAverages: api.loadAverages,
        wholeListBytes,
        bytesPerChange,
        shown,
        form,
        scroll,
        blank,
      },
    );
    console.log(`written: ${path}`);
  } finally {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
