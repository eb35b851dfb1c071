import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  KeyStream,
  Rfc4733Decoder,
  buildTelephoneEvent,
  parseInfoDtmf,
  parseTelephoneEvent,
} from '../../server/rtp/dtmf.ts';
import { SIPP_PCAPS, readPcapRtp } from './fixtures.ts';

/** One key as a phone sends it: start, updates, then the end packet three times. */
function event(key: number, ts: number, ssrc = 1234) {
  const packets = [0, 160, 320, 480].map((duration) => ({
    ssrc,
    ts,
    payload: buildTelephoneEvent({ event: key, end: false, volume: 10, duration }),
  }));
  for (let i = 0; i < 3; i++)
    packets.push({
      ssrc,
      ts,
      payload: buildTelephoneEvent({ event: key, end: true, volume: 10, duration: 640 }),
    });
  return packets;
}

function decodeAll(packets: { ssrc: number; ts: number; payload: Uint8Array }[]): string[] {
  const d = new Rfc4733Decoder();
  return packets.map((p) => d.push(p.ssrc, p.ts, p.payload)).filter((k) => k !== null);
}

describe('RFC 4733', () => {
  it('parses event, E, R, volume and duration', () => {
    expect(parseTelephoneEvent(Uint8Array.of(11, 0x8a | 0x40, 0x08, 0xc0))).toEqual({
      event: 11,
      end: true,
      volume: 10,
      duration: 2240,
    });
    expect(parseTelephoneEvent(Uint8Array.of(1, 2, 3))).toBeNull();
  });

  it('emits one key per event despite updates and three end packets', () => {
    expect(decodeAll([...event(5, 8000), ...event(5, 9600), ...event(11, 11200)])).toEqual([
      '5',
      '5',
      '#',
    ]);
  });

  it('emits on the end packet when every start packet was lost', () => {
    expect(decodeAll([...event(9, 100).slice(4), ...event(10, 900).slice(5)])).toEqual(['9', '*']);
  });

  it('keeps streams apart by SSRC and ignores flash (16)', () => {
    expect(decodeAll([...event(1, 100, 1), ...event(1, 100, 2), ...event(16, 500)])).toEqual([
      '1',
      '1',
    ]);
  });

  const pcaps = readdirSync(SIPP_PCAPS).filter((f) => f.startsWith('dtmf_2833_'));
  it.each(pcaps)("decodes SIPp's %s to its key", (file) => {
    const name = file.replace(/^dtmf_2833_|\.pcap$/g, '');
    const expected = { pound: '#', star: '*' }[name] ?? name;
    const packets = readPcapRtp(`${SIPP_PCAPS}/${file}`);
    expect(packets.filter((p) => parseTelephoneEvent(p.rtp.payload)?.end)).toHaveLength(3);
    const d = new Rfc4733Decoder();
    const keys = packets.map((p) => d.push(p.rtp.ssrc, p.rtp.timestamp, p.rtp.payload));
    expect(keys.filter((k) => k !== null)).toEqual([expected]);
    expect(keys[0]).toBe(expected); // on the first packet, not at the end
  });
  it('found the SIPp pcaps', () => expect(pcaps.length).toBe(12));
});

describe('SIP INFO', () => {
  it('reads application/dtmf-relay and application/dtmf', () => {
    expect(parseInfoDtmf('application/dtmf-relay', 'Signal=5\r\nDuration=160\r\n')).toBe('5');
    expect(
      parseInfoDtmf('Application/DTMF-Relay; charset=utf-8', 'Duration=250\nsignal= #\n'),
    ).toBe('#');
    expect(parseInfoDtmf('application/dtmf-relay', 'Signal=11\r\nDuration=160')).toBe('#');
    expect(parseInfoDtmf('application/dtmf', '7')).toBe('7');
    expect(parseInfoDtmf('application/dtmf', ' * \r\n')).toBe('*');
    expect(parseInfoDtmf('application/dtmf-relay', 'Duration=160')).toBeNull();
    expect(parseInfoDtmf('application/dtmf', 'hello')).toBeNull();
    expect(parseInfoDtmf('application/sdp', 'Signal=5')).toBeNull();
  });
});

describe('KeyStream', () => {
  function stream() {
    let now = 0;
    const keys: string[] = [];
    const s = new KeyStream({ now: () => now });
    s.onKey((k) => keys.push(k));
    return { s, keys, at: (t: number) => (now = t) };
  }

  it('drops the INFO copy of an RFC 4733 key and vice versa', () => {
    const { s, keys, at } = stream();
    s.push('rtp', '5');
    at(40);
    s.push('info', '5');
    at(1000);
    s.push('info', '6');
    at(1100);
    s.push('rtp', '6');
    expect(keys).toEqual(['5', '6']);
  });

  it('keeps a repeat after 300 ms, a different key, and quick repeats from one phone', () => {
    const { s, keys, at } = stream();
    s.push('rtp', '1');
    at(350);
    s.push('info', '1'); // too late to be a copy
    at(400);
    s.push('rtp', '2');
    at(410);
    s.push('info', '3');
    expect(keys).toEqual(['1', '1', '2', '3']);
  });

  it('pairs copies one to one when a caller presses 1 1 quickly on a phone that sends both', () => {
    const { s, keys, at } = stream();
    s.push('rtp', '1');
    at(10);
    s.push('info', '1');
    at(150);
    s.push('rtp', '1');
    at(160);
    s.push('info', '1');
    at(250);
    s.push('info', '1'); // a third press whose RTP was lost: not a copy of anything
    expect(keys).toEqual(['1', '1', '1']);
  });
});
