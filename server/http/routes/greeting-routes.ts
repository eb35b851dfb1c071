import type { Static } from '@sinclair/typebox';
import type { FastifyInstance, FastifyPluginAsync, FastifyRequest } from 'fastify';
import { VoicegateError } from '../../domain/errors.ts';
import type { ActiveGreeting, GreetingKind } from '../../domain/mailbox.ts';
import { toTelephoneWav } from '../../media/convert.ts';
import type { ApiDeps } from '../deps.ts';
import { sendStored } from '../range.ts';
import {
  NoContent,
  ActiveGreetingBody,
  ErrorReply,
  GreetingKindParams,
  GreetingList,
} from '../schemas.ts';

const errors = {
  204: NoContent,
  400: ErrorReply,
  401: ErrorReply,
  403: ErrorReply,
  404: ErrorReply,
  413: ErrorReply,
  415: ErrorReply,
};
export const MAX_UPLOAD = 10 * 1024 * 1024;

/** Greetings are uploaded as the file itself: any audio type, converted on arrival. */
export function acceptAudioBodies(app: FastifyInstance): void {
  app.addContentTypeParser(
    /^(audio\/|application\/octet-stream)/,
    { parseAs: 'buffer', bodyLimit: MAX_UPLOAD },
    (_req, body, done) => done(null, body),
  );
}

/** An uploaded greeting as the telephone WAV it is kept as; refused when it is not audio. */
export async function uploadedGreeting(req: FastifyRequest, tools: ApiDeps['tools']) {
  if (!Buffer.isBuffer(req.body) || req.body.length === 0) {
    throw new VoicegateError(
      'BAD_AUDIO',
      'send the audio file as the request body, with its audio/* Content-Type',
    );
  }
  return toTelephoneWav(req.body, req.headers['content-type'] ?? '', tools);
}

export function greetingRoutes(deps: ApiDeps): FastifyPluginAsync {
  return async (app) => {
    app.addHook('onRequest', deps.sessions.require);
    acceptAudioBodies(app);

    const list = async (mailboxName: string) => {
      const box = await deps.mailboxes.resolve(mailboxName);
      const greetings = await deps.messages.greetings(mailboxName);
      return {
        active: box.activeGreeting,
        greetings: greetings.map((g) => ({
          kind: g.kind,
          durationMs: g.audio.durationMs,
          updatedAt: new Date(g.updatedAt).toISOString(),
        })),
      };
    };

    app.get(
      '/api/greetings',
      { schema: { response: { 200: GreetingList, ...errors } } },
      async (req) => list(req.mailbox!.name),
    );

    app.get(
      '/api/greetings/:kind/audio',
      { schema: { params: GreetingKindParams, response: errors } },
      async (req, reply) => {
        const { kind } = req.params as Static<typeof GreetingKindParams>;
        const greeting = (await deps.messages.greetings(req.mailbox!.name)).find(
          (g) => g.kind === kind,
        );
        if (!greeting) throw new VoicegateError('NOT_FOUND', `no ${kind} greeting`);
        return sendStored(req, reply, deps.audio, greeting.audio.key, { type: 'audio/wav' });
      },
    );

    app.put(
      '/api/greetings/active',
      { schema: { body: ActiveGreetingBody, response: { 200: GreetingList, ...errors } } },
      async (req) => {
        const { active } = req.body as Static<typeof ActiveGreetingBody>;
        await deps.mailboxes.update(req.mailbox!.name, {
          activeGreeting: active as ActiveGreeting,
        });
        return list(req.mailbox!.name);
      },
    );

    app.put(
      '/api/greetings/:kind',
      {
        bodyLimit: MAX_UPLOAD,
        schema: {
          summary: 'Upload a greeting: the audio file as the body (WAV, Ogg, FLAC, MP3, WebM)',
          params: GreetingKindParams,
          response: { 200: GreetingList, ...errors },
        },
      },
      async (req) => {
        const { kind } = req.params as Static<typeof GreetingKindParams>;
        const wav = await uploadedGreeting(req, deps.tools);
        await deps.messages.setGreeting(req.mailbox!.name, kind as GreetingKind, wav);
        return list(req.mailbox!.name);
      },
    );

    app.delete(
      '/api/greetings/:kind',
      { schema: { params: GreetingKindParams, response: errors } },
      async (req, reply) => {
        const { kind } = req.params as Static<typeof GreetingKindParams>;
        await deps.messages.removeGreeting(req.mailbox!.name, kind as GreetingKind);
        return reply.status(204).send();
      },
    );
  };
}
