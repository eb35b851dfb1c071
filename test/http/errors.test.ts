import { afterEach, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../server/http/app.ts';
import { createLogger } from '../../server/log.ts';
import { LogWatch } from '../helpers/log-watch.ts';

let app: FastifyInstance | undefined;
afterEach(async () => app?.close());

describe('a request that fails', () => {
  it('answers "internal error" and logs the failure with its method and route', async () => {
    const logs = new LogWatch();
    app = await buildApp({
      log: createLogger('info', logs.stream),
      version: '1',
      readiness: async () => {
        throw new Error('disk on fire at /var/lib/voicegate');
      },
    });
    const res = await app.inject('/readyz?caller=Claire');
    expect(res.statusCode).toBe(500);
    expect(res.json()).toEqual({ error: 'INTERNAL', message: 'internal error' });
    const entry = await logs.next('request failed');
    expect(entry).toMatchObject({
      method: 'GET',
      route: '/readyz',
      err: { message: /disk on fire/ },
    });
    expect(JSON.stringify(entry)).not.toContain('Claire');
  });
});
