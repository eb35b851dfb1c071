import { randomUUID } from 'node:crypto';
import type { Delivery } from '../domain/delivery.ts';
import { EwsClient, ewsTransport, type EwsConnection } from './ews-client.ts';
import { ewsResult } from './ews-target.ts';
import type { GraphCredentials } from './graph-auth.ts';
import { GraphClient } from './graph-client.ts';
import { graphResult } from './graph-target.ts';
import { httpClientFor } from './https-client.ts';
import { graphMessage, voicemailItem } from './voicemail-item.ts';

export type TestedConnection =
  | ({ kind: 'graph'; name: string; caFile: string } & GraphCredentials)
  | ({ kind: 'ews'; name: string; caFile: string } & EwsConnection);

export interface TestStep {
  step: string;
  ok: boolean;
  detail: string;
}

/** A one-second WAV of silence: the test item's audio. */
function silence(): Buffer {
  const data = Buffer.alloc(8000);
  const h = Buffer.alloc(44);
  h.write('RIFF', 0);
  h.writeUInt32LE(36 + data.length, 4);
  h.write('WAVEfmt ', 8);
  h.writeUInt32LE(16, 16);
  h.writeUInt16LE(1, 20);
  h.writeUInt16LE(1, 22);
  h.writeUInt32LE(8000, 24);
  h.writeUInt32LE(8000, 28);
  h.writeUInt16LE(1, 32);
  h.writeUInt16LE(8, 34);
  h.write('data', 36);
  h.writeUInt32LE(data.length, 40);
  return Buffer.concat([h, data.fill(0x80)]);
}

/**
 * The administrator's "Test" button: with a connection, for one user's mailbox, reads the Inbox
 * (looking for an item by a Message-ID nobody has), and unless `readOnly` creates a test
 * voicemail there and removes it again. One step per line, each saying what works, or what is
 * refused and why; it stops at the first refusal.
 */
export async function* testConnection(
  c: TestedConnection,
  address: string,
  opts: { readOnly: boolean; domain: string },
): AsyncGenerator<TestStep> {
  const how =
    c.kind === 'graph'
      ? `Graph at ${c.endpoint}`
      : `EWS at ${c.url} (${c.auth} as ${c.username || 'the app'})`;
  const why = (err: unknown) => {
    const r = c.kind === 'graph' ? graphResult(err, address) : ewsResult(err, address);
    return r.status === 'ok' ? '' : r.reason;
  };
  const identity = `${randomUUID()}@voicegate-test`;
  const item = voicemailItem(
    {
      voicemailId: randomUUID(),
      identity,
      callerNumber: '0000',
      callerName: 'Voicegate test',
      receivedAt: Date.now(),
      audio: { key: '', format: 'wav/pcm8/8000', bytes: 8044, durationMs: 1000 },
      priority: 'normal',
      private: false,
      messageId: null,
    } as unknown as Delivery,
    { name: address, extension: null, fullName: 'Voicegate test', timeZone: 'UTC', email: address },
    address,
    { domain: opts.domain },
  );
  item.subject = `Voicegate test (removed again): ${item.subject}`;
  try {
    if (c.kind === 'graph') {
      const client = new GraphClient(c, httpClientFor(c));
      await client.findByInternetMessageId(address, `<${identity}>`);
      yield { step: 'read the Inbox', ok: true, detail: `${how}: token granted, Inbox readable` };
      if (opts.readOnly) return;
      const made = await client.createInInbox(address, graphMessage(item, silence()));
      yield { step: 'create a voicemail', ok: true, detail: `created ${made.id.slice(0, 16)}...` };
      await client.remove(address, made.id);
      yield { step: 'remove it', ok: true, detail: 'removed' };
    } else {
      const client = new EwsClient(c, ewsTransport(c));
      await client.findByInternetMessageId(address, `<${identity}>`);
      const as = c.impersonation ? 'by impersonation' : 'by delegate access';
      yield { step: 'read the Inbox', ok: true, detail: `${how} ${as}: Inbox readable` };
      if (opts.readOnly) return;
      const made = await client.createInInbox(address, item, silence());
      yield {
        step: 'create a voicemail',
        ok: true,
        detail: `created ${made.itemId.slice(0, 16)}...`,
      };
      await client.remove(address, made.itemId);
      yield { step: 'remove it', ok: true, detail: 'removed' };
    }
  } catch (err) {
    yield { step: 'refused', ok: false, detail: why(err) };
  }
}
