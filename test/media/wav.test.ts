import { afterAll, describe, expect, it } from 'vitest';
import { isVoicegateError } from '../../server/domain/errors.ts';
import {
  encodeWav,
  inspectWav,
  parseWav,
  toPcm16,
  type WavEncoding,
} from '../../server/media/wav.ts';
import { scratch, sox, soxInfo, soxSamples } from './sox.ts';

const dir = scratch();
afterAll(() => dir.remove());

const PCM = ['-e', 'signed-integer', '-b', '16'];
const ULAW = ['-e', 'u-law', '-b', '8'];
const ALAW = ['-e', 'a-law', '-b', '8'];

const SOX_ENCODING: Record<WavEncoding, string[]> = { pcm16: PCM, mulaw: ULAW, alaw: ALAW };

/** Files sox writes, one per case; all 1.5 s of 440 Hz. */
const CASES = (
  [
    ['pcm16.wav', 'pcm16', 8000, 1, 'wav/pcm16/8000'],
    ['ulaw.wav', 'mulaw', 8000, 1, 'wav/mulaw/8000'],
    ['alaw.wav', 'alaw', 8000, 1, 'wav/alaw/8000'],
    ['wide.wav', 'pcm16', 16000, 1, 'wav/pcm16/16000'],
    ['stereo.wav', 'pcm16', 16000, 2, 'wav/pcm16/16000/2'],
    ['ulaw-stereo.wav', 'mulaw', 8000, 2, 'wav/mulaw/8000/2'],
    ['hifi.wav', 'pcm16', 48000, 1, 'wav/pcm16/48000'],
  ] as const
).map(([name, encoding, rate, channels, format]) => ({
  name,
  encoding,
  rate,
  channels,
  format,
  options: ['-r', String(rate), '-c', String(channels), ...SOX_ENCODING[encoding]],
}));

// Made on first use, not in beforeAll, so a missing sox fails every test instead of skipping them.
const files = new Map<string, Uint8Array>();
function file(name: string): Uint8Array {
  const c = CASES.find((x) => x.name === name);
  if (!c) throw new Error(`no test case ${name}`);
  if (!files.has(name)) files.set(name, dir.synth(name, c.options));
  return files.get(name)!;
}

/** The BAD_AUDIO message parseWav gives for these bytes; fails the test if it accepts them. */
function refusal(bytes: Uint8Array): string {
  try {
    parseWav(bytes);
  } catch (err) {
    if (isVoicegateError(err, 'BAD_AUDIO')) return err.message;
    throw err;
  }
  throw new Error('parseWav accepted audio it should have refused');
}

function le32(n: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, n, true);
  return out;
}

function chunk(id: string, body: Uint8Array): Uint8Array {
  const pad = body.length & 1 ? [0] : [];
  return Uint8Array.from([...Buffer.from(id, 'latin1'), ...le32(body.length), ...body, ...pad]);
}

/** The chunks after the 12-byte RIFF header, as sox laid them out. */
function chunksOf(bytes: Uint8Array): Map<string, Uint8Array> {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Map<string, Uint8Array>();
  for (let pos = 12; pos + 8 <= bytes.length;) {
    const size = view.getUint32(pos + 4, true);
    out.set(
      Buffer.from(bytes.subarray(pos, pos + 4)).toString('latin1'),
      bytes.subarray(pos, pos + 8 + size + (size & 1)),
    );
    pos += 8 + size + (size & 1);
  }
  return out;
}

function riff(...chunks: Uint8Array[]): Uint8Array {
  const body = Buffer.concat([Buffer.from('WAVE'), ...chunks]);
  return Uint8Array.from([...Buffer.from('RIFF'), ...le32(body.length), ...body]);
}

describe('parseWav on files sox writes', () => {
  it.each(CASES)('$name: $format', (c) => {
    const wav = parseWav(file(c.name));
    expect({ encoding: wav.encoding, sampleRate: wav.sampleRate, channels: wav.channels }).toEqual({
      encoding: c.encoding,
      sampleRate: c.rate,
      channels: c.channels,
    });
    expect(Math.abs(wav.durationMs - 1500)).toBeLessThanOrEqual(1);
    expect(inspectWav(file(c.name))).toEqual({ format: c.format, durationMs: wav.durationMs });
  });

  // Exact, not ±1 LSB: both follow the G.711 reference tables, so every sample must agree.
  it.each(CASES)('$name decodes to exactly the samples sox decodes', (c) => {
    const ours = toPcm16(parseWav(file(c.name)));
    const theirs = soxSamples(dir.path(c.name));
    expect(ours.length).toBe(theirs.length);
    expect(Buffer.from(ours.buffer).equals(Buffer.from(theirs.buffer))).toBe(true);
  });
});

describe('encodeWav', () => {
  it.each(CASES)('rewrites $name byte for byte as sox wrote it', (c) => {
    const original = file(c.name);
    const wav = parseWav(original);
    expect(Buffer.from(encodeWav(wav)).equals(Buffer.from(original))).toBe(true);
  });

  it.each([
    { encoding: 'pcm16', soxName: 'Signed Integer PCM', bits: '16' },
    { encoding: 'mulaw', soxName: 'u-law', bits: '8' },
    { encoding: 'alaw', soxName: 'A-law', bits: '8' },
  ] as const)('writes $encoding that sox reads with the right rate, encoding and length', (c) => {
    const samples = 12001; // odd, so 8-bit data needs a pad byte
    const data = new Uint8Array(c.encoding === 'pcm16' ? samples * 2 : samples).map(
      (_, i) => (i * 37) & 0xff,
    );
    const name = `ours-${c.encoding}.wav`;
    dir.write(name, encodeWav({ encoding: c.encoding, sampleRate: 8000, channels: 1, data }));
    const path = dir.path(name);
    expect([
      soxInfo(path, 'r'),
      soxInfo(path, 'c'),
      soxInfo(path, 'e'),
      soxInfo(path, 'b'),
    ]).toEqual(['8000', '1', c.soxName, c.bits]);
    expect(soxInfo(path, 's')).toBe(String(samples));
    expect(Number(soxInfo(path, 'D'))).toBeCloseTo(samples / 8000, 3);
    expect(Array.from(soxSamples(path))).toEqual(Array.from(toPcm16(parseWav(dir.read(name)))));
  });
});

describe('chunk layout', () => {
  it('skips unknown chunks, honours pad bytes and accepts any chunk order', () => {
    const parts = chunksOf(file('ulaw.wav'));
    const odd = chunk('junk', Uint8Array.of(1, 2, 3));
    const list = chunk('LIST', Buffer.from('INFOICMT\x05\x00\x00\x00hello\x00', 'latin1'));
    const bytes = riff(odd, list, parts.get('data')!, parts.get('fact')!, parts.get('fmt ')!);
    const wav = parseWav(bytes);
    expect([wav.encoding, wav.sampleRate, wav.data.length]).toEqual(['mulaw', 8000, 12000]);
  });

  it('tolerates a wrong RIFF size and trailing metadata cut short', () => {
    const bytes = Buffer.concat([
      file('pcm16.wav'),
      Buffer.from('LIST\xff\x00\x00\x00INFO', 'latin1'),
    ]);
    bytes.writeUInt32LE(12345, 4);
    expect(parseWav(bytes).durationMs).toBe(1500);
  });

  it.each([0, 0xffffffff, 0x7ffff000])(
    'takes the bytes present when the data size is the streaming value %i',
    (size) => {
      const bytes = Buffer.from(file('pcm16.wav'));
      bytes.writeUInt32LE(size, 40);
      expect(parseWav(bytes.subarray(0, 44 + 8000)).durationMs).toBe(500);
    },
  );
});

describe('refusals name the problem', () => {
  it('a text file is not a WAV file', () => {
    expect(refusal(Buffer.from('Hello, this is not audio.\n'))).toBe(
      'not a WAV file (no RIFF header)',
    );
    expect(refusal(new Uint8Array())).toBe('not a WAV file (the file is empty)');
  });

  it('a file cut in the middle of its data is truncated', () => {
    const cut = file('pcm16.wav').subarray(0, 44 + 1200);
    expect(refusal(cut)).toBe(
      'truncated WAV: data chunk declares 24000 bytes but 1200 are present',
    );
  });

  it('no data chunk, no fmt chunk', () => {
    const parts = chunksOf(file('ulaw.wav'));
    expect(refusal(riff(parts.get('fmt ')!, parts.get('fact')!))).toMatch(/^no data chunk/);
    expect(refusal(riff(parts.get('fact')!, parts.get('data')!))).toMatch(/^no fmt chunk/);
  });

  it('zero-length audio is empty', () => {
    sox(['-n', '-r', '8000', '-c', '1', ...PCM, dir.path('empty.wav'), 'trim', '0', '0']);
    expect(refusal(dir.read('empty.wav'))).toBe('empty audio: the data chunk holds no samples');
  });

  it.each([
    {
      what: 'float',
      options: ['-e', 'floating-point', '-b', '32'],
      message: 'unsupported WAV encoding: IEEE float (format 3)',
    },
    {
      what: '24-bit',
      options: ['-e', 'signed-integer', '-b', '24'],
      message: 'unsupported bit depth: 24-bit PCM (16-bit PCM, µ-law or A-law are supported)',
    },
    {
      what: '8-bit',
      options: ['-e', 'unsigned-integer', '-b', '8'],
      message: 'unsupported bit depth: 8-bit PCM (16-bit PCM, µ-law or A-law are supported)',
    },
    {
      what: 'GSM',
      options: ['-t', 'wav', '-e', 'gsm-full-rate'],
      message: 'unsupported WAV encoding: GSM 6.10 (format 49)',
    },
    {
      what: '96 kHz',
      options: ['-r', '96000', ...PCM],
      message: 'unsupported sample rate: 96000 Hz (8000 to 48000 Hz are supported)',
    },
    {
      what: '4 channels',
      options: ['-c', '4', ...PCM],
      message: 'unsupported channel count: 4 (mono or stereo are supported)',
    },
  ])('$what is refused', (c) => {
    const options = c.options.includes('-r') ? c.options : ['-r', '8000', ...c.options];
    expect(refusal(dir.synth(`refused-${c.what}.wav`, options, 0.1))).toBe(c.message);
  });
});
