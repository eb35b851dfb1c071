import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AudioStore } from '../domain/ports.ts';

/** One byte range of a `size`-byte body, or 'unsatisfiable', or null for the whole body. */
export function parseRange(
  header: string | undefined,
  size: number,
): { start: number; end: number } | 'unsatisfiable' | null {
  if (!header) return null;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  // Several ranges, or another unit: serve the whole body, as RFC 9110 allows.
  if (!m || (m[1] === '' && m[2] === '')) return null;
  let start: number;
  let end: number;
  if (m[1] === '') {
    const suffix = Number(m[2]);
    if (suffix === 0) return 'unsatisfiable';
    start = Math.max(0, size - suffix);
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  }
  if (start >= size || start > end) return 'unsatisfiable';
  return { start, end };
}

interface Body {
  type: string;
  filename?: string;
  download?: boolean;
}

function headers(reply: FastifyReply, body: Body, size: number): void {
  reply
    .header('Content-Type', body.type)
    .header('Accept-Ranges', 'bytes')
    .header('Cache-Control', 'private, max-age=3600');
  if (body.download && body.filename)
    reply.header('Content-Disposition', `attachment; filename="${body.filename}"`);
  void size;
}

/**
 * Sends stored audio with HTTP Range support (seeking in the browser's player), streamed from
 * the audio store: only the bytes of the range are read, wherever the store keeps them.
 */
export async function sendStored(
  req: FastifyRequest,
  reply: FastifyReply,
  audio: AudioStore,
  key: string,
  body: Body,
): Promise<FastifyReply> {
  const size = await audio.size(key);
  headers(reply, body, size);
  const range = parseRange(req.headers.range, size);
  if (range === 'unsatisfiable')
    return reply.status(416).header('Content-Range', `bytes */${size}`).send();
  if (!range) return reply.header('Content-Length', size).send(await audio.stream(key));
  return reply
    .status(206)
    .header('Content-Range', `bytes ${range.start}-${range.end}/${size}`)
    .header('Content-Length', range.end - range.start + 1)
    .send(await audio.stream(key, range));
}

/** Sends bytes in memory with HTTP Range support. */
export function sendBytes(
  req: FastifyRequest,
  reply: FastifyReply,
  bytes: Uint8Array,
  body: Body,
): FastifyReply {
  headers(reply, body, bytes.length);
  const range = parseRange(req.headers.range, bytes.length);
  if (range === 'unsatisfiable')
    return reply.status(416).header('Content-Range', `bytes */${bytes.length}`).send();
  if (!range) return reply.send(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  return reply
    .status(206)
    .header('Content-Range', `bytes ${range.start}-${range.end}/${bytes.length}`)
    .send(Buffer.from(bytes.buffer, bytes.byteOffset + range.start, range.end - range.start + 1));
}
