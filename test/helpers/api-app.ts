import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { buildApp } from '../../server/http/app.ts';
import { WebSessions } from '../../server/http/session.ts';
import { createLogger } from '../../server/log.ts';
import { hasCommand } from '../../server/tools.ts';
import { tempContext } from './temp-context.ts';
import { adminStatus } from '../../server/compose/admin-status.ts';
import { adminFlows } from '../../server/compose/admin-flows.ts';

/** The web API over a fresh store, for `inject`; `login` returns a client with cookie and CSRF. */
export async function apiApp(config: Record<string, unknown> = {}, idleMinutes = 30) {
  const ctx = await tempContext(config);
  const app: FastifyInstance = await buildApp({
    log: createLogger('silent'),
    version: 'test',
    readiness: async () => null,
    api: {
      mailboxes: ctx.mailboxes,
      messages: ctx.messages,
      store: ctx.store,
      audio: ctx.audio,
      sessions: new WebSessions({ store: ctx.store, idleMinutes, secureCookie: true }),
      tools: { ffmpeg: hasCommand('ffmpeg'), sox: hasCommand('sox') },
      admin: {
        admins: ctx.admins,
        deliveries: ctx.deliveries,
        mailboxSettings: ctx.mailboxSettings,
        status: adminStatus(ctx, 'test', () => ({})),
        flows: adminFlows(ctx, () => undefined),
      },
    },
  });

  async function login(mailbox: string, code: string) {
    const res = await app.inject({ method: 'POST', url: '/api/login', payload: { mailbox, code } });
    if (res.statusCode !== 200) throw new Error(`login failed: ${res.statusCode} ${res.body}`);
    const cookie = res.cookies.find((c) => c.name === 'vg_session')!;
    const csrf = (res.json() as { csrfToken: string }).csrfToken;
    const headers = { cookie: `vg_session=${cookie.value}` };
    const call = (
      method: 'GET' | 'POST' | 'PUT' | 'DELETE',
      url: string,
      payload?: unknown,
      extra: Record<string, string> = {},
    ): Promise<LightMyRequestResponse> =>
      app.inject({
        method,
        url,
        headers: { ...headers, ...(method === 'GET' ? {} : { 'x-csrf-token': csrf }), ...extra },
        ...(payload === undefined
          ? {}
          : typeof payload === 'string' || Buffer.isBuffer(payload)
            ? { payload }
            : { payload: payload as object }),
      });
    return { cookie, csrf, headers, call, response: res };
  }

  return {
    ctx,
    app,
    login,
    async close() {
      await app.close();
      await ctx.cleanup();
    },
  };
}
