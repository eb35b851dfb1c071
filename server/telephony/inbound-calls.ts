import type { FlowEngineDeps } from '../flows/action.ts';
import { runFlow } from '../flows/engine.ts';
import type { FlowSet } from '../flows/flow-set.ts';
import { route } from '../flows/route.ts';
import { isVoicegateError } from '../domain/errors.ts';
import type { MailboxRecord } from '../domain/mailbox.ts';
import type { MailboxService } from '../domain/mailbox-service.ts';
import type { CallInfo } from '../flows/call.ts';
import { isRtpError } from '../rtp/errors.ts';
import type { MediaSession } from '../rtp/media-thread.ts';
import { answerOffer } from '../rtp/sdp.ts';
import { parseInfoDtmf } from '../rtp/dtmf.ts';
import type { Dialog, IncomingInvite, IncomingRequest, SipLog } from '../sip/api.ts';
import { getHeader } from '../sip/message.ts';
import { callInfo } from './caller-info.ts';
import type { CallMedia } from './call-media.ts';
import type { CallCounter } from './call-counter.ts';
import type { SipTrust } from './sip-trust.ts';
import { SipCall, type ReferUri } from './sip-call.ts';

export interface InboundDeps {
  flows: FlowSet;
  engine: FlowEngineDeps;
  mailboxes: MailboxService;
  media: CallMedia;
  counter: CallCounter;
  trust: SipTrust;
  accessNumbers: readonly string[];
  referUri: ReferUri;
  log: SipLog;
}

/** A BYE is answered only once what the call recorded is durable, but never later than this. */
const BYE_ANSWER_LIMIT_MS = 10_000;

/** INFO carrying a key (application/dtmf-relay or application/dtmf) feeds the key stream. */
export function infoHandler(rtp: MediaSession): (req: IncomingRequest) => void {
  return (req) => {
    if (req.request.method !== 'INFO') return req.respond(405);
    const key = parseInfoDtmf(getHeader(req.request, 'content-type') ?? '', req.request.body);
    if (key !== null) rtp.infoKey(key);
    req.respond(200);
  };
}

/** Re-INVITEs (hold, codec or address changes) get a new answer on the same RTP port. */
export function reinviteHandler(
  rtp: MediaSession,
  advertise: string,
  log: SipLog,
): (req: IncomingRequest, sdp: string) => string | null {
  return (_req, sdp) => {
    try {
      const n = answerOffer(sdp, { address: advertise, port: rtp.port });
      rtp.configure(n);
      return n.answer;
    } catch (err) {
      log.info({ err: (err as Error).message }, 're-INVITE offer refused');
      return null;
    }
  };
}

/**
 * Whether the caller's phone proves the caller ID that would open the dialled mailbox. Only a
 * call from a mailbox's own extension to that mailbox is asked: a 401 challenge when the
 * mailbox has SIP credentials (phones answer it with them, as they do for REGISTER), else the
 * call goes on unvouched and the code is asked. Everyone else calls without credentials.
 */
async function phoneVouches(
  invite: IncomingInvite,
  info: CallInfo,
  deps: Pick<InboundDeps, 'trust'> & { mailboxes: CallMailboxes },
): Promise<'digest' | 'none' | 'challenge' | 'stale' | 'forbidden'> {
  if (info.callerNumber === null || info.forwardedFrom !== null) return 'none';
  const phone = await deps.trust.phoneOf(info.callerNumber);
  if (!phone) return 'none';
  try {
    if ((await deps.mailboxes.resolve(info.dialled)).id !== phone.id) return 'none';
  } catch (err) {
    if (isVoicegateError(err, 'NOT_FOUND') || isVoicegateError(err, 'INVALID_INPUT')) return 'none';
    throw err;
  }
  const check = await deps.trust.verify(invite.request);
  if (check.ok) return check.username === phone.extension ? 'digest' : 'forbidden';
  if (check.reason === 'missing') return 'challenge';
  return check.reason === 'stale' ? 'stale' : 'forbidden';
}

type CallMailboxes = Pick<MailboxService, 'resolve'>;

/**
 * The mailbox look-ups of one INVITE, each name asked once: the digest check and routing both
 * want the dialled mailbox, and the flow then carries the record routing found.
 */
function onceEach(mailboxes: MailboxService): CallMailboxes {
  const found = new Map<string, Promise<MailboxRecord>>();
  return {
    resolve(ref) {
      if (typeof ref !== 'string') return Promise.resolve(ref);
      let p = found.get(ref);
      if (!p) found.set(ref, (p = mailboxes.resolve(ref)));
      return p;
    },
  };
}

/** Answers a call: port limit, routing, SDP, then the call flow; the BYE waits for the deposit. */
export async function handleInvite(invite: IncomingInvite, deps: InboundDeps): Promise<void> {
  const peer = deps.trust.isTrustedPeer(invite.source.address);
  let info = callInfo(invite.request, invite.source, peer);
  const log = deps.log.child?.({ cid: info.callId, proto: 'sip' }) ?? deps.log;
  const { slot, refused } = deps.counter.admit(invite.source.address.replace(/^::ffff:/, ''));
  if (!slot) {
    const why = refused === 'all-busy' ? 'all ports busy' : 'too many calls from this source';
    log.warn({ remote: info.remote, ...deps.counter.stats() }, `call refused: ${why}`);
    invite.reject(486, 'Busy Here', { headers: { 'Retry-After': '30' } });
    return;
  }
  let rtp: MediaSession | null = null;
  const mailboxes = onceEach(deps.mailboxes);
  try {
    if (!peer) {
      const vouched = await phoneVouches(invite, info, { trust: deps.trust, mailboxes });
      if (vouched === 'challenge' || vouched === 'stale') {
        invite.reject(401, 'Unauthorized', deps.trust.challenge(vouched === 'stale'));
        return;
      }
      if (vouched === 'forbidden') {
        log.warn(
          { remote: info.remote, caller: info.callerNumber },
          'call refused: SIP credentials',
        );
        invite.reject(403, 'Forbidden');
        return;
      }
      if (vouched === 'digest') info = { ...info, vouchedBy: 'digest' };
    }
    const book = await deps.flows.current();
    const target = await route(info, {
      flows: book,
      mailboxes,
      accessNumbers: deps.accessNumbers,
      defaultLanguage: deps.engine.defaultLanguage,
    });
    if (target.kind === 'not-found') {
      log.info({ dialled: info.dialled, reason: target.reason }, 'call refused: no such number');
      invite.reject(404, 'Not Found');
      return;
    }
    try {
      rtp = await deps.media.open();
    } catch (err) {
      log.error({ err }, 'call refused: no RTP port');
      invite.reject(503, 'Service Unavailable', { headers: { 'Retry-After': '30' } });
      return;
    }
    let answer: string;
    try {
      const n = answerOffer(invite.request.body, { address: deps.media.advertise, port: rtp.port });
      rtp.configure(n);
      answer = n.answer;
    } catch (err) {
      const noCodec = isRtpError(err, 'NO_COMMON_CODEC');
      log.info({ err: (err as Error).message }, 'call refused: unusable SDP offer');
      invite.reject(noCodec ? 488 : 400, noCodec ? 'Not Acceptable Here' : 'Bad SDP', {
        headers: noCodec ? { Warning: '305 voicegate "only PCMU and PCMA"' } : {},
      });
      return;
    }
    if (invite.cancelled) return;
    let dialog: Dialog;
    try {
      dialog = await invite.accept(answer);
    } catch (err) {
      log.info({ err: (err as Error).message }, 'call not established');
      return;
    }
    const call = new SipCall(info, dialog, rtp, deps.referUri);
    let bye: IncomingRequest | null = null;
    dialog.onBye((req) => {
      bye = req;
      call.markEnded();
      // A flow stuck past the limit must not leave the caller's phone retrying its BYE.
      setTimeout(() => answerBye(), BYE_ANSWER_LIMIT_MS).unref();
    });
    const answerBye = (): void => {
      const req = bye;
      bye = null;
      req?.respond(200);
    };
    dialog.onReinvite(reinviteHandler(rtp, deps.media.advertise, log));
    dialog.onRequest(infoHandler(rtp));
    log.info(
      {
        dialled: info.dialled,
        caller: info.callerNumber,
        flow: target.flow.name,
        mailbox: target.mailbox,
        reason: target.reason,
      },
      'call answered',
    );
    await runFlow(call, target.flow, { ...deps.engine, log }, target.vars, target.record);
    answerBye();
  } catch (err) {
    log.error({ err }, 'call failed');
    invite.reject(500, 'Server Internal Error');
  } finally {
    await rtp?.close();
    slot.release();
  }
}
