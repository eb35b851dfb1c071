/**
 * DTMF in: RFC 4733 telephone-events carried in RTP, and SIP INFO bodies. Both end up in one
 * KeyStream, which drops the copy when a phone sends the same key both ways.
 */

/** RFC 4733 event codes 0-15 as keys; 16 (flash) and above are not keys. */
export const DTMF_KEYS = '0123456789*#ABCD';

export interface TelephoneEvent {
  event: number;
  end: boolean;
  volume: number;
  /** In timestamp units (1/8 ms at 8 kHz). */
  duration: number;
}

export function parseTelephoneEvent(payload: Uint8Array): TelephoneEvent | null {
  if (payload.length < 4) return null;
  const b1 = payload[1]!;
  return {
    event: payload[0]!,
    end: (b1 & 0x80) !== 0,
    volume: b1 & 0x3f,
    duration: (payload[2]! << 8) | payload[3]!,
  };
}

export function buildTelephoneEvent(e: TelephoneEvent): Buffer {
  const b = Buffer.alloc(4);
  b[0] = e.event & 0xff;
  b[1] = (e.end ? 0x80 : 0) | (e.volume & 0x3f);
  b.writeUInt16BE(Math.min(e.duration, 0xffff), 2);
  return b;
}

export function keyToEvent(key: string): number | null {
  const i = DTMF_KEYS.indexOf(key.toUpperCase());
  return key.length === 1 && i >= 0 ? i : null;
}

/** How many recent events to remember; a flood of fake events cannot grow it. */
const REMEMBERED_EVENTS = 32;

/**
 * One key per event. An event spans many packets sharing one timestamp, and its end packet is
 * sent three times, so the decoder keys on (SSRC, timestamp) and emits on the first packet it
 * sees: normally the start packet, or an end packet when every start packet was lost.
 * Limitation: an event longer than 8 s is split by the sender into segments with new
 * timestamps and would be reported again; no DTMF key is held that long in practice.
 */
export class Rfc4733Decoder {
  #seen: string[] = [];

  /** Returns the key to emit for this packet, or null (a repeat, a flash, or garbage). */
  push(ssrc: number, timestamp: number, payload: Uint8Array): string | null {
    const ev = parseTelephoneEvent(payload);
    if (!ev) return null;
    const id = `${ssrc >>> 0}:${timestamp >>> 0}`;
    if (this.#seen.includes(id)) return null;
    this.#seen.push(id);
    if (this.#seen.length > REMEMBERED_EVENTS) this.#seen.shift();
    return DTMF_KEYS[ev.event] ?? null;
  }
}

/**
 * The key in a SIP INFO body: `application/dtmf-relay` (`Signal=5\r\nDuration=160`) or
 * `application/dtmf` (a bare `5`). Null when the body holds no key we know.
 */
export function parseInfoDtmf(contentType: string, body: string): string | null {
  const type = contentType.split(';')[0]!.trim().toLowerCase();
  let value: string | undefined;
  if (type === 'application/dtmf-relay') {
    value = /^\s*signal\s*=\s*(\S+)\s*$/im.exec(body)?.[1];
  } else if (type === 'application/dtmf') {
    value = body.trim();
  } else {
    return null;
  }
  if (value === undefined) return null;
  // Some phones send the event number (10 for *, 11 for #) instead of the character.
  if (/^1[0-5]$/.test(value)) return DTMF_KEYS[Number(value)]!;
  const key = value.toUpperCase();
  return key.length === 1 && DTMF_KEYS.includes(key) ? key : null;
}

export type KeySource = 'rtp' | 'info';

interface LastKey {
  key: string;
  at: number;
  /** Already matched with a copy from the other source. */
  paired: boolean;
}

/**
 * Merges keys from RFC 4733 and SIP INFO. A key that repeats the other source's last key within
 * `windowMs` is that key's copy and is dropped; each key absorbs at most one copy, so a caller
 * pressing 1 1 quickly on a phone that sends both still gets two keys.
 */
export class KeyStream {
  readonly #windowMs: number;
  readonly #now: () => number;
  readonly #listeners: ((key: string) => void)[] = [];
  readonly #last: Record<KeySource, LastKey | null> = { rtp: null, info: null };

  constructor(opts: { windowMs?: number; now?: () => number } = {}) {
    this.#windowMs = opts.windowMs ?? 300;
    this.#now = opts.now ?? (() => performance.now());
  }

  onKey(cb: (key: string) => void): () => void {
    this.#listeners.push(cb);
    return () => {
      const i = this.#listeners.indexOf(cb);
      if (i >= 0) this.#listeners.splice(i, 1);
    };
  }

  /** Feeds one key; returns whether it was emitted (false: a copy of the other source's key). */
  push(source: KeySource, key: string): boolean {
    const now = this.#now();
    const other = this.#last[source === 'rtp' ? 'info' : 'rtp'];
    if (other && !other.paired && other.key === key && now - other.at <= this.#windowMs) {
      other.paired = true;
      return false;
    }
    this.#last[source] = { key, at: now, paired: false };
    for (const cb of [...this.#listeners]) cb(key);
    return true;
  }
}
