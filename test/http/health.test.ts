import { afterEach, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../server/http/app.ts';
import { createLogger } from '../../server/log.ts';

let app: FastifyInstance | undefined;
afterEach(async () => app?.close());

describe('health endpoints', () => {
  it('answers healthz, readyz and the version', async () => {
    app = await buildApp({
      log: createLogger('silent'),
      version: '1.2.3',
      readiness: async () => null,
    });
    expect((await app.inject('/healthz')).json()).toEqual({ status: 'ok' });
    const ready = await app.inject('/readyz');
    expect([ready.statusCode, ready.json()]).toEqual([200, { status: 'ready' }]);
    expect((await app.inject('/api/version')).json()).toMatchObject({
      name: 'voicegate',
      version: '1.2.3',
    });
  });

  it('is not ready when the store is not, and says why', async () => {
    app = await buildApp({
      log: createLogger('silent'),
      version: '1',
      readiness: async () => 'store unavailable: disk I/O error',
    });
    const ready = await app.inject('/readyz');
    expect(ready.statusCode).toBe(503);
    expect(ready.json()).toEqual({
      status: 'unavailable',
      reason: 'store unavailable: disk I/O error',
    });
  });

  it('answers unknown paths and methods with a JSON 404', async () => {
    app = await buildApp({
      log: createLogger('silent'),
      version: '1',
      readiness: async () => null,
    });
    const r = await app.inject({ method: 'POST', url: '/api/nothing' });
    expect(r.statusCode).toBe(404);
    expect(r.json()).toEqual({ error: 'NOT_FOUND', message: 'no such resource' });
  });
});
