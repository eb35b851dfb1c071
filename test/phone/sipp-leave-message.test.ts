import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runSipp } from '../helpers/sipp.ts';
import type { TestServer } from '../helpers/test-server.ts';
import { phoneServer } from './phone-kit.ts';
import { listed, scenario, sippTrace } from './sipp-kit.ts';

// Each assertion on the mailbox runs the moment SIPp exits, without polling: the server
// acknowledges a hang-up (its own BYE, or the 200 to the caller's) only once the deposit is durable.
describe('SIPp callers leave messages', { timeout: 60_000 }, () => {
  let server: TestServer;

  beforeEach(async () => {
    server = await phoneServer();
  });
  afterEach(async () => {
    await server.stop();
  });

  it('PCMA at 30 ms with RFC 4733 and INFO keys: stored before the server hangs up', async () => {
    // SIPp checks that the answer chose PCMA (PT 8) with telephone-event.
    const run = await runSipp(scenario('leave-pcma.xml'), `127.0.0.1:${server.ports.sip}`, {
      service: '201',
    });
    expect(run.code, run.log).toBe(0);
    const [message, ...rest] = await listed(server, '201');
    expect(rest).toEqual([]);
    expect(message!.callerNumber).toBe('5550100');
    expect(message!.audio.durationMs).toBeGreaterThan(5000);
    expect(message!.audio.durationMs).toBeLessThan(8000);
  });

  it('a forged P-Asserted-Identity of the owner from an untrusted address is ignored: a message is left', async () => {
    const run = await runSipp(scenario('forged-pai.xml'), `127.0.0.1:${server.ports.sip}`, {
      service: '201',
    });
    expect(run.code, run.log).toBe(0);
    const [message, ...rest] = await listed(server, '201');
    expect(rest).toEqual([]);
    expect(message!.callerNumber).toBeNull();
    expect(message!.audio.durationMs).toBeGreaterThan(5000);
  });

  for (const transport of ['udp', 'tcp'] as const) {
    it(`a caller that hangs up gets the 200 to its BYE only once the message is stored (${transport})`, async () => {
      const trace = sippTrace();
      const run = await runSipp(scenario('crash-caller.xml'), `127.0.0.1:${server.ports.sip}`, {
        service: '201',
        args: [...(transport === 'tcp' ? ['-t', 't1'] : []), ...trace.args],
      });
      expect(run.code, run.log).toBe(0);
      const sent = trace.messages().filter((m) => m.direction === 'sent');
      expect(sent.length).toBeGreaterThan(0);
      for (const m of sent) expect(m.text.startsWith(transport.toUpperCase())).toBe(true);
      const [message, ...rest] = await listed(server, '201');
      expect(rest).toEqual([]);
      expect(message!.callerNumber).toBe('5550111');
      expect(message!.audio.durationMs).toBeGreaterThan(5000);
    });
  }

  it('holds (re-INVITE, sendonly -> recvonly), resumes, hangs up: the call is recorded', async () => {
    const run = await runSipp(scenario('hold-resume.xml'), `127.0.0.1:${server.ports.sip}`, {
      service: '201',
    });
    expect(run.code, run.log).toBe(0);
    const [message, ...rest] = await listed(server, '201');
    expect(rest).toEqual([]);
    expect(message!.callerNumber).toBe('5550122');
    expect(message!.audio.durationMs).toBeGreaterThan(4000);
  });
});
