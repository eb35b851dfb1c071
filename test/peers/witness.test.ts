import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../server/log.ts';
import { probeWitness, WitnessWatch } from '../../server/peers/witness.ts';
import { freePort } from '../helpers/free-port.ts';

let server: Server;
let base: string;
let status = 200;

beforeAll(async () => {
  server = createServer((_req, res) => {
    res.statusCode = status;
    res.end('ok');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});

afterAll(() => new Promise<void>((r) => server.close(() => r())));

describe('the witness', () => {
  it('says what it sees of the central: 2xx up, 5xx down, silence or anything else unreachable', async () => {
    status = 200;
    expect(await probeWitness(`${base}/central`, 2000)).toBe('central-up');
    for (const down of [502, 503, 504]) {
      status = down;
      expect(await probeWitness(`${base}/central`, 2000)).toBe('central-down');
    }
    // A wrong URL or a redirect says nothing of the central.
    for (const other of [301, 404]) {
      status = other;
      expect(await probeWitness(`${base}/central`, 2000)).toBe('unreachable');
    }
    const closed = await freePort();
    expect(await probeWitness(`http://127.0.0.1:${closed}/`, 2000)).toBe('unreachable');
  });

  it('keeps its last view for each lamp and e-mail to ask', async () => {
    status = 200;
    const watch = new WitnessWatch({
      url: base,
      intervalMs: 1000,
      log: createLogger('silent'),
    });
    expect(watch.view()).toBe('unreachable');
    expect(await watch.check()).toBe('central-up');
    expect(watch.view()).toBe('central-up');
    status = 502;
    await watch.check();
    expect(watch.view()).toBe('central-down');
    await watch.stop();
  });
});
