import type { Static } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import { Type } from '@sinclair/typebox';
import { browserWav } from '../../media/convert.ts';
import { wavPeaks } from '../../media/peaks.ts';
import { formatLocalTime } from '../../domain/time.ts';
import type { ApiDeps } from '../deps.ts';
import { AudioCache } from '../audio-cache.ts';
import { sendBytes, sendStored } from '../range.ts';
import { ErrorReply, IdParams, Peaks } from '../schemas.ts';

const errors = { 401: ErrorReply, 404: ErrorReply };
const DownloadQuery = Type.Object({
  download: Type.Optional(Type.Union(['1', 'true', '0', 'false'].map((v) => Type.Literal(v)))),
});

export function audioRoutes(deps: ApiDeps): FastifyPluginAsync {
  return async (app) => {
    app.addHook('onRequest', deps.sessions.require);
    const cache = new AudioCache(deps.audio);

    app.get(
      '/api/messages/:id/audio',
      {
        schema: {
          summary: 'The original WAV (Range supported)',
          params: IdParams,
          querystring: DownloadQuery,
          response: errors,
        },
      },
      async (req, reply) => {
        const { id } = req.params as Static<typeof IdParams>;
        const m = await deps.messages.get(req.mailbox!.id, id);
        // Named in the mailbox's time, as the list shows it: "voicemail-20261202-1402.wav".
        const stamp = formatLocalTime(m.receivedAt, req.mailbox!.timeZone)
          .replace(/[-:]/g, '')
          .replace(' ', '-');
        const body = {
          type: 'audio/wav',
          filename: `voicemail-${stamp}.wav`,
          download: ['1', 'true'].includes(
            (req.query as Static<typeof DownloadQuery>).download ?? '',
          ),
        };
        if (!cache.holds(m.audio.bytes))
          return sendStored(req, reply, deps.audio, m.audio.key, body);
        return sendBytes(req, reply, await cache.get(m.audio.key), body);
      },
    );

    app.get(
      '/api/messages/:id/stream',
      {
        schema: {
          summary: 'A 16-bit PCM WAV every browser plays (Range supported)',
          params: IdParams,
          response: errors,
        },
      },
      async (req, reply) => {
        const { id } = req.params as Static<typeof IdParams>;
        const m = await deps.messages.get(req.mailbox!.id, id);
        if (m.audio.format.startsWith('wav/pcm16/'))
          return cache.holds(m.audio.bytes)
            ? sendBytes(req, reply, await cache.get(m.audio.key), { type: 'audio/wav' })
            : sendStored(req, reply, deps.audio, m.audio.key, { type: 'audio/wav' });
        return sendBytes(req, reply, browserWav(await deps.audio.read(m.audio.key)), {
          type: 'audio/wav',
        });
      },
    );

    app.get(
      '/api/messages/:id/peaks',
      {
        schema: {
          summary: 'Waveform peaks (0..1)',
          params: IdParams,
          response: { 200: Peaks, ...errors },
        },
      },
      async (req) => {
        const { id } = req.params as Static<typeof IdParams>;
        const m = await deps.messages.get(req.mailbox!.id, id);
        const cached = await deps.store.getRendition(m.id, 'peaks');
        if (cached) return { peaks: JSON.parse(Buffer.from(cached).toString()) as number[] };
        const peaks = wavPeaks(await deps.audio.read(m.audio.key));
        await deps.store.putRendition(m.id, 'peaks', Buffer.from(JSON.stringify(peaks)));
        return { peaks };
      },
    );
  };
}
