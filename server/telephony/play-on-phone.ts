import { randomUUID } from 'node:crypto';
import { VoicegateError } from '../domain/errors.ts';
import { numberToRing, type Mailbox } from '../domain/mailbox.ts';
import type { FlowEngineDeps } from '../flows/action.ts';
import type { CallInfo } from '../flows/call.ts';
import { playMessageOnPhone } from '../flows/voicemail/index.ts';
import { readAnswer, makeOffer } from '../rtp/sdp.ts';
import type { Credentials, SipLog } from '../sip/api.ts';
import type { UserAgent } from '../sip/user-agent.ts';
import type { CallCounter } from './call-counter.ts';
import type { CallMedia } from './call-media.ts';
import type { Dialler } from './dialler.ts';
import { infoHandler, reinviteHandler } from './inbound-calls.ts';
import type { Registrar } from './registrar.ts';
import { SipCall } from './sip-call.ts';

export interface PlayOnPhoneDeps {
  ua: UserAgent;
  media: CallMedia;
  counter: CallCounter;
  engine: FlowEngineDeps;
  registrar: Registrar;
  /** The dial plan: a trusted number must be in it too (the extension always is). */
  dialler: Dialler;
  domain: string;
  pbx: { uri: string; host: string; credentials?: Credentials } | null;
  log: SipLog;
}

/**
 * Whether the user's phone can be rung now, asked before the button is offered: the number, or
 * why not (`no-number`: no extension; `not-allowed`: the dial plan refuses it; `no-phone`:
 * nothing registered for it and no PBX to call through).
 */
export type PhoneReach =
  | { reachable: true; number: string }
  | { reachable: false; number: string | null; reason: 'no-number' | 'not-allowed' | 'no-phone' };

/** How long the phone may ring before the call is given up. */
const RING_MS = 45_000;

/**
 * "Play on my phone": the server calls the user's own phone (its registered contact, else
 * through the PBX), plays the message and offers keys to replay, save and delete. Only the
 * mailbox's extension or one of its trusted numbers may be called, and only where the dial
 * plan allows: never any number.
 */
export class PlayOnPhone {
  readonly #d: PlayOnPhoneDeps;

  constructor(deps: PlayOnPhoneDeps) {
    this.#d = deps;
  }

  async reach(mailbox: Mailbox): Promise<PhoneReach> {
    if (!mailbox.extension) return { reachable: false, number: null, reason: 'no-number' };
    const decision = await this.#d.dialler.wouldAllow(mailbox.extension);
    if (!decision.allowed)
      return { reachable: false, number: mailbox.extension, reason: 'not-allowed' };
    if (!this.#d.registrar.contactOf(decision.number) && !this.#d.pbx)
      return { reachable: false, number: decision.number, reason: 'no-phone' };
    return { reachable: true, number: decision.number };
  }

  async call(mailbox: Mailbox, messageId: string, to?: string): Promise<{ callId: string }> {
    const owned = numberToRing(mailbox, to);
    await this.#d.engine.messages.get(mailbox.id, messageId);
    const decision = await this.#d.dialler.decide(owned, 'play on phone');
    if (!decision.allowed)
      throw new VoicegateError('FORBIDDEN', `the dial plan does not allow calling ${owned}`);
    const number = decision.number;
    const contact = this.#d.registrar.contactOf(number);
    const pbx = this.#d.pbx;
    if (!contact && !pbx) {
      this.#d.log.info({ number }, 'play on phone: no phone registered and sip.pbx.uri is empty');
      throw new VoicegateError(
        'UNAVAILABLE',
        `no phone is registered for ${number}, and no PBX is set up to call it`,
      );
    }
    const slot = this.#d.counter.take();
    if (!slot) throw new VoicegateError('UNAVAILABLE', 'every phone line is busy; try again');
    const callId = `${randomUUID()}@${this.#d.domain}`;
    let rtp;
    try {
      rtp = await this.#d.media.open();
    } catch (err) {
      slot.release();
      throw new VoicegateError('UNAVAILABLE', 'no media port is free; try again', { cause: err });
    }
    const uri = contact ?? `sip:${encodeURIComponent(number)}@${pbx!.host}`;
    const log =
      this.#d.log.child?.({ cid: callId, proto: 'sip', mailbox: mailbox.name }) ?? this.#d.log;
    const outgoing = this.#d.ua.invite({
      uri,
      callId,
      from: `"Voicemail" <sip:voicemail@${this.#d.domain}>`,
      to: `<sip:${encodeURIComponent(number)}@${contact ? this.#d.domain : pbx!.host}>`,
      sdp: makeOffer({ address: this.#d.media.advertise, port: rtp.port }),
      proxy: contact ? undefined : pbx!.uri,
      credentials: contact ? undefined : pbx!.credentials,
    });
    const giveUp = setTimeout(() => outgoing.cancel(), RING_MS);
    log.info({ to: number, uri }, 'play on phone: calling');
    void (async () => {
      try {
        const { dialog, response } = await outgoing.done;
        clearTimeout(giveUp);
        rtp.configure(readAnswer(response.body));
        const info: CallInfo = {
          callId,
          callerNumber: number,
          callerName: null,
          dialled: number,
          forwardedFrom: null,
          forwardReason: null,
          language: null,
          remote: uri,
        };
        const call = new SipCall(info, dialog, rtp, (target) =>
          this.#d.dialler.transferUri(target, log),
        );
        dialog.onBye((req) => {
          call.markEnded();
          req.respond(200);
        });
        dialog.onReinvite(reinviteHandler(rtp, this.#d.media.advertise, log));
        dialog.onRequest(infoHandler(rtp));
        await playMessageOnPhone(call, { ...this.#d.engine, log }, mailbox.name, messageId, {
          language: mailbox.locale,
        });
        await call.hangup();
        log.info({}, 'play on phone: done');
      } catch (err) {
        log.info({ err: (err as Error).message }, 'play on phone: not answered');
      } finally {
        clearTimeout(giveUp);
        await rtp.close();
        slot.release();
      }
    })();
    return { callId };
  }
}
