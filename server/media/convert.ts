import { spawn } from 'node:child_process';
import { VoicegateError } from '../domain/errors.ts';
import { encodeWav, parseWav, toPcm16 } from './wav.ts';

/** sox's name for each audio type it reads; what sox cannot read needs ffmpeg. */
const SOX_TYPES: Record<string, string> = {
  'audio/wav': 'wav',
  'audio/x-wav': 'wav',
  'audio/wave': 'wav',
  'audio/ogg': 'ogg',
  'audio/flac': 'flac',
  'audio/x-flac': 'flac',
  'audio/mpeg': 'mp3',
  'audio/aiff': 'aiff',
  'audio/x-aiff': 'aiff',
};

function run(cmd: string, args: string[], input: Uint8Array, timeoutMs: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], timeout: timeoutMs });
    const out: Buffer[] = [];
    let err = '';
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0
        ? resolve(Buffer.concat(out))
        : reject(
            // The tool's own words go to the log (as the cause), never to the user.
            new VoicegateError(
              'BAD_AUDIO',
              'this file is not audio that can be read (WAV, Ogg, FLAC, MP3, AIFF or WebM)',
              { cause: new Error(`${cmd}: ${err.trim().split('\n').at(-1) ?? code}`) },
            ),
          ),
    );
    child.stdin.on('error', () => {});
    child.stdin.end(input);
  });
}

/**
 * Any common audio file (WAV, Ogg, FLAC, MP3, AIFF, and WebM/Opus from browsers when ffmpeg is
 * installed) as an 8 kHz mono 16-bit WAV, the format greetings are played in. Conversion is
 * done by ffmpeg when present, else by sox.
 */
export async function toTelephoneWav(
  bytes: Uint8Array,
  contentType: string,
  tools: { ffmpeg: boolean; sox: boolean },
): Promise<Uint8Array> {
  const type = contentType.split(';')[0]!.trim().toLowerCase();
  let out: Buffer;
  if (tools.ffmpeg) {
    out = await run(
      'ffmpeg',
      [
        '-v',
        'error',
        '-i',
        'pipe:0',
        '-ac',
        '1',
        '-ar',
        '8000',
        '-c:a',
        'pcm_s16le',
        '-f',
        'wav',
        'pipe:1',
      ],
      bytes,
      20_000,
    );
  } else if (tools.sox && SOX_TYPES[type]) {
    out = await run(
      'sox',
      [
        '-t',
        SOX_TYPES[type]!,
        '-',
        '-r',
        '8000',
        '-c',
        '1',
        '-b',
        '16',
        '-e',
        'signed-integer',
        '-t',
        'wav',
        '-',
      ],
      bytes,
      20_000,
    );
  } else {
    throw new VoicegateError(
      'BAD_AUDIO',
      `cannot read ${type || 'this file'} here: upload a WAV, Ogg, FLAC or MP3 file`,
    );
  }
  // Re-encode: a canonical header (a pipe leaves the sizes unknown in ffmpeg's and sox's).
  const wav = parseWav(out);
  return encodeWav({
    encoding: wav.encoding,
    sampleRate: wav.sampleRate,
    channels: wav.channels,
    data: wav.data,
  });
}

/** A WAV any browser plays: 16-bit PCM (G.711 decoded). PCM input is returned as it is. */
export function browserWav(bytes: Uint8Array): Uint8Array {
  const wav = parseWav(bytes);
  if (wav.encoding === 'pcm16') return bytes;
  const pcm = toPcm16(wav);
  return encodeWav({
    encoding: 'pcm16',
    sampleRate: wav.sampleRate,
    channels: wav.channels,
    data: new Uint8Array(pcm.buffer, pcm.byteOffset, pcm.byteLength),
  });
}
