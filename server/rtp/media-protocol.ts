/**
 * The messages between the main thread and the media thread (media-worker.ts). Every request
 * carries `req`, answered once by a `reply` or an `error` with the same `req`; `key` events come
 * unasked. Sessions are named by `sid`, given by the main thread and never reused, so a session
 * of a media thread that died cannot reach one of its successor's.
 */
import type { RecorderOptions, Recording } from './recorder.ts';
import type { ClockStats } from './media-clock.ts';
import type { Negotiated } from './sdp.ts';

export interface MediaThreadSettings {
  /** Local address the RTP sockets bind to. */
  bindAddress: string;
  portMin: number;
  portMax: number;
}

/** Recorder options that cross threads: the clock is the media thread's own. */
export type RecordRequest = Omit<RecorderOptions, 'now'>;

export type MediaCommand =
  | { op: 'open'; req: number; sid: number }
  | { op: 'configure'; sid: number; neg: Negotiated }
  | { op: 'info-key'; sid: number; key: string }
  | { op: 'play'; req: number; sid: number; samples: Int16Array }
  | { op: 'stop'; sid: number }
  | { op: 'record'; req: number; sid: number; opts: RecordRequest }
  | { op: 'stop-recording'; sid: number; reason: 'key' | 'hangup' }
  | { op: 'close'; req: number; sid: number }
  | { op: 'stats'; req: number; reset: boolean };

export type MediaReplyValue = { port: number } | 'done' | 'stopped' | Recording | ClockStats | null;

export type MediaEvent =
  | { op: 'reply'; req: number; value: MediaReplyValue }
  | { op: 'error'; req: number; message: string; code?: string }
  | { op: 'key'; sid: number; key: string };
