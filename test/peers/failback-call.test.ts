import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FailoverFiles } from '../../server/peers/failover-file.ts';
import type { RunningServer } from '../../server/server.ts';
import { Baresip } from '../helpers/baresip.ts';
import { freePort } from '../helpers/free-port.ts';
import { toneRatio } from '../helpers/goertzel.ts';
import { until } from '../mail/mail-helpers.ts';
import { toneFile, wavFile } from '../phone/phone-kit.ts';
import { peer, startNode } from './peers-kit.ts';

/**
 * Graceful failback with a real call in progress: the central stopped, the backup live; a
 * softphone (baresip) calls the backup and leaves a message; the central returns during the
 * call. The backup stays live (returning) while the call goes on, hands back once the caller
 * hangs up, and the message recorded in that call reaches the central once, with a greeting
 * changed and one removed on the backup while it was live.
 */
let dir: string;
let smtpPort: number;
let httpPort: number;
let central: RunningServer | null = null;
let backup: RunningServer;
let phone: Baresip | undefined;

const startCentral = async (): Promise<RunningServer> => {
  const node = await startNode(join(dir, 'central'), [
    'server.name=central',
    'server.role=central',
    `smtp.port=${smtpPort}`,
    `http.port=${httpPort}`,
    'topology.failover.mailPingSeconds=0',
    `topology.backup=${peer({ name: 'backup', smtp: '127.0.0.1:9' })}`,
  ]);
  if (!(await node.context.store.findMailbox('alice'))) {
    await node.context.mailboxes.add({ name: 'alice', extension: '201' }, '1234');
    // Alice's recorded name, which she removes on the backup while it is live.
    await node.context.messages.setGreeting('alice', 'name', wavFile(dir, 'name', 500, 1));
  }
  return node;
};

const saved = () => new FailoverFiles(join(dir, 'backup')).load();
const state = (): string => saved()?.state ?? 'standby';

/**
 * Whether the phone has heard `hz` (a 100 ms window of it) so far on its call: its decoded
 * dump grows as the audio arrives (raw PCM after the 44-byte WAV header, whose sizes are
 * written only at the end).
 */
function heardTone(phone: Baresip, hz: number): boolean {
  let bytes: Buffer;
  try {
    bytes = readFileSync(phone.heard());
  } catch {
    return false;
  }
  const pcm = Uint8Array.from(bytes.subarray(44, 44 + ((bytes.length - 44) & ~1)));
  const samples = new Int16Array(pcm.buffer);
  for (let at = 0; at + 800 <= samples.length; at += 400)
    if (toneRatio(samples.subarray(at, at + 800), hz) > 0.8) return true;
  return false;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'voicegate-failback-call-'));
  [smtpPort, httpPort] = [await freePort(), await freePort()];
  central = await startCentral();
  backup = await startNode(join(dir, 'backup'), [
    'server.name=backup',
    'server.role=backup',
    'topology.retrySeconds=1',
    'topology.failover.intervalSeconds=1',
    'topology.failover.missedBeats=2',
    'topology.failover.failback=graceful',
    `topology.central=${peer({
      name: 'central',
      smtp: `127.0.0.1:${smtpPort}`,
      https: `http://127.0.0.1:${httpPort}`,
      caFile: join(dir, 'central', 'tls', 'cert.pem'),
    })}`,
  ]);
  await backup.context.mailboxes.add({ name: 'alice', extension: '201' }, '1234');
  await backup.context.messages.setGreeting(
    'alice',
    'unavailable',
    wavFile(dir, 'greeting', 440, 2),
  );
  await backup.context.messages.setGreeting('alice', 'name', wavFile(dir, 'name', 500, 1));
}, 60_000);

afterAll(async () => {
  await phone?.stop();
  await backup?.close();
  await central?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('graceful failback with a call in progress on the live backup', () => {
  it(
    'waits for the call to end, then hands back what it recorded',
    { timeout: 120_000 },
    async () => {
      await until(() => saved()?.lastBeatAt, 15_000, 'a heartbeat answered');
      await central!.close();
      central = null;
      await until(() => state() === 'live', 15_000, 'the backup live');
      // Live, alice records a new busy greeting (what the phone's greetings menu does).
      const busy = wavFile(dir, 'busy', 600, 1);
      await backup.context.messages.setGreeting('alice', 'busy', busy);
      // And removes her recorded name.
      await backup.context.messages.removeGreeting('alice', 'name');

      // A caller leaves a message on the live backup: a minute of 1 kHz "voice", ended by
      // hanging up (no fixed length: the test decides when the call ends).
      const voice = toneFile(dir, 'voice', 1000, 60, 1, 0);
      phone = await Baresip.start({ voice, user: '5551234' });
      phone.dial(`sip:201@127.0.0.1:${backup.ports.sip}`);
      await phone.waitFor(/Call established/, 20_000);
      expect(backup.phone.counter.stats().active).toBe(1);
      // The greeting (440 Hz) played, then the tone: the backup records the caller now.
      await until(() => heardTone(phone!, 1000), 30_000, 'the tone before the recording');

      // The central returns during the call: the backup sees it, and stays live beat after beat.
      central = await startCentral();
      await until(() => state() === 'returning', 20_000, 'the central seen again').catch(
        async (err: Error) => {
          const trail = await backup.context.store.queryAudit({ kind: 'failover', limit: 20 });
          throw new Error(
            `${err.message}; the backup is ${state()}, ${trail.map((r) => r.reason).join(' | ')}; the phone: ${phone!.output.slice(-1500)}`,
          );
        },
      );
      const seen = saved()!.lastBeatAt!;
      await until(() => saved()!.lastBeatAt! > seen + 1500, 15_000, 'two more heartbeats');
      expect(state()).toBe('returning');
      expect(backup.phone.counter.stats().active).toBe(1);

      // The caller hangs up: the message is kept, the call ends, and the backup hands back.
      const before = phone.output.length;
      phone.type('b');
      await phone.waitFor(/terminated|closed/i, 20_000, before);
      const hungUp = Date.now();
      await until(() => state() === 'standby', 30_000, 'handed back');
      const alice = await central.context.store.findMailbox('alice');
      const there = await central.context.store.listMessages(alice!.id);
      expect(there.map((m) => ({ caller: m.callerNumber, origin: m.originServer }))).toEqual([
        { caller: '5551234', origin: 'backup' },
      ]);
      // The minute of voice was cut short by the hang-up, and what was said is there.
      expect(there[0]!.audio.durationMs).toBeGreaterThan(1000);
      // The greeting changed while live is the central's now, byte for byte; none waits.
      const greetings = await central.context.messages.greetings('alice');
      const greeting = greetings.find((g) => g.kind === 'busy');
      expect(Buffer.from(await central.context.audio.read(greeting!.audio.key))).toEqual(
        Buffer.from(busy),
      );
      // The name removed while live is removed there too.
      expect(greetings.map((g) => g.kind)).not.toContain('name');
      expect(existsSync(join(dir, 'backup', 'replication', 'greetings-to-central.json'))).toBe(
        false,
      );
      const trail = await backup.context.store.queryAudit({ kind: 'failover', limit: 20 });
      const changes = trail.reverse().map((r) => r.details);
      expect(changes.map((d) => `${String(d?.to)} ${String(d?.event)}`)).toEqual([
        'suspect missed',
        'live missed',
        'returning beat',
        'handing-back calls-ended',
        'standby caught-up',
      ]);
      // Handing back began only once the call had ended.
      const handing = trail.find((r) => r.details?.to === 'handing-back')!;
      expect(handing.at).toBeGreaterThanOrEqual(hungUp - 1000);
      expect(backup.phone.counter.stats().active).toBe(0);
    },
  );
});
