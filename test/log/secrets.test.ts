/**
 * A real server logging at debug level, driven through every way in that carries a secret: web
 * log-ins with a wrong and the right code, a code change, IMAP LOGIN and SMTP AUTH. No code,
 * session token or CSRF token reaches the log, while the log-ins themselves are logged.
 */
import { request } from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  imapLogin,
  startLoggedServer,
  webLogin,
  type LoggedServer,
} from '../helpers/lockout-kit.ts';
import { swaks } from '../smtp-in/smtp-kit.ts';
import type { TestServer } from '../helpers/test-server.ts';

const CODE = '7391';
const WRONG = '8264';
const NEW_CODE = '5082';

let server: LoggedServer;
beforeAll(async () => {
  server = await startLoggedServer(['smtp.requireAuth=true'], 'debug');
  await server.context.mailboxes.add({ name: 'carol', extension: '301' }, CODE);
});
afterAll(async () => server?.stop());

/** PUT /api/code with the session's cookie and CSRF token; the status. */
function changeCode(cookie: string, csrf: string): Promise<number> {
  const payload = JSON.stringify({ oldCode: CODE, newCode: NEW_CODE });
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port: server.ports.http,
        path: '/api/code',
        method: 'PUT',
        agent: false,
        rejectUnauthorized: false,
        headers: {
          'content-type': 'application/json',
          'content-length': payload.length,
          cookie,
          'x-csrf-token': csrf,
        },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

/** SMTP AUTH PLAIN after STARTTLS; the final reply line. */
async function smtpAuth(user: string, code: string): Promise<string> {
  const r = await swaks(server as unknown as TestServer, [
    '--to',
    '301@voicegate.local',
    '-tls',
    '--auth',
    'PLAIN',
    '--auth-user',
    user,
    '--auth-password',
    code,
    '--quit-after',
    'AUTH',
  ]);
  return r.replies.find((l) => /^(235|535|4\d\d) /.test(l)) ?? r.stdout;
}

describe('what reaches the log', () => {
  it('holds no voicemail code, session token or CSRF token', async () => {
    expect((await webLogin(server.ports.http, 'carol', WRONG)).status).toBe(401);
    const ok = await webLogin(server.ports.http, 'carol', CODE);
    expect(ok.status).toBe(200);
    const cookie = ok.cookies.map((c) => c.split(';')[0]!).join('; ');
    const token = cookie.split('=')[1]!;
    const csrf = (ok.body as { csrfToken: string }).csrfToken;
    expect(token.length).toBeGreaterThan(20);
    expect(await changeCode(cookie, csrf)).toBe(204);

    expect(await imapLogin(server.ports.imaps, 'carol', WRONG)).toMatch(/^NO /);
    expect(await imapLogin(server.ports.imaps, 'carol', NEW_CODE)).toMatch(/^OK /);

    expect(await smtpAuth('carol', WRONG)).toMatch(/^535 /);
    expect(await smtpAuth('carol', NEW_CODE)).toMatch(/^235 /);

    const log = JSON.stringify(server.logs);
    // The log-ins were logged, wrong codes included: the check below is of a real log.
    expect(server.count('login failed: wrong code', 'carol')).toBeGreaterThanOrEqual(3);
    const plain = (code: string) => Buffer.from(`\0carol\0${code}`).toString('base64');
    for (const secret of [CODE, WRONG, NEW_CODE, token, csrf, plain(WRONG), plain(NEW_CODE)])
      if (/^\d+$/.test(secret))
        // A code as a value of its own, not digits inside a time, a pid or a port (18264).
        expect(log, `the log holds ${secret}`).not.toMatch(new RegExp(`(?<!\\d)${secret}(?!\\d)`));
      else expect(log, `the log holds ${secret}`).not.toContain(secret);
  });
});
