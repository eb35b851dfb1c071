import { shownTarget, type DialDecision, type DialPlan } from '../domain/dial-plan.ts';
import type { MailboxService } from '../domain/mailbox-service.ts';
import type { SipLog } from '../sip/api.ts';
import type { Registrar } from './registrar.ts';

/** What asked for an outgoing call, for the log. */
export type OutgoingKind = 'transfer' | 'play on phone';

export interface DiallerDeps {
  plan: DialPlan;
  mailboxes: Pick<MailboxService, 'list'>;
  registrar: Pick<Registrar, 'contactOf'>;
  /** The PBX's host (sip.pbx.uri without scheme and parameters); empty without a PBX. */
  pbxHost: string;
  /** server.domain, where a number goes without a PBX or a registered phone. */
  domain: string;
  log: SipLog;
}

/**
 * Every outgoing call (call back, breakouts, flow transfers, play on my phone) asks here
 * first. The domain's dial plan decides; a refusal is logged with the cleaned target and
 * counted; an allowed number becomes a URI the server builds itself (the PBX, else the
 * registered phone of an extension, else server.domain), never one taken from caller data.
 */
export class Dialler {
  readonly #d: DiallerDeps;
  #allowed = 0;
  #refused = 0;

  constructor(deps: DiallerDeps) {
    this.#d = deps;
  }

  /** What the plan would decide, asked before offering a call: neither logged nor counted. */
  async wouldAllow(raw: string): Promise<DialDecision> {
    const extensions = (await this.#d.mailboxes.list()).map((m) => m.extension);
    return this.#d.plan.decide(raw, extensions);
  }

  async decide(raw: string, kind: OutgoingKind, log: SipLog = this.#d.log): Promise<DialDecision> {
    const extensions = (await this.#d.mailboxes.list()).map((m) => m.extension);
    const decision = this.#d.plan.decide(raw, extensions);
    if (decision.allowed) this.#allowed++;
    else {
      this.#refused++;
      log.warn(
        { kind, target: shownTarget(raw), reason: decision.reason, refused: this.#refused },
        'outgoing call refused: not in the dial plan',
      );
    }
    return decision;
  }

  /** Where a transfer (REFER) sends the caller for an allowed number. */
  referUri(number: string): string {
    const user = encodeURIComponent(number);
    if (this.#d.pbxHost) return `sip:${user}@${this.#d.pbxHost}`;
    return this.#d.registrar.contactOf(number) ?? `sip:${user}@${this.#d.domain}`;
  }

  /** The REFER target of `raw`, or null when the dial plan refuses it (logged, counted). */
  async transferUri(raw: string, log?: SipLog): Promise<string | null> {
    const decision = await this.decide(raw, 'transfer', log);
    return decision.allowed ? this.referUri(decision.number) : null;
  }

  /** Outgoing calls let through and refused by the dial plan since the start. */
  stats(): { allowed: number; refused: number } {
    return { allowed: this.#allowed, refused: this.#refused };
  }
}
