// Keeping one binding registered (RFC 3261 section 10): REGISTER, refresh before expiry, back
// off after failures, un-REGISTER on stop.
import { expiresOf, newCallId, newTag, parseUri, type SipResponse } from './message.ts';
import { buildRequest, sendWithAuth } from './outgoing.ts';
import type { RegisterOptions, UaCore } from './api.ts';

export type RegistrationState = 'registering' | 'registered' | 'failed' | 'stopped';

export class Registration {
  state: RegistrationState = 'registering';
  /** Called on every change of state, with the response that caused it (if any). */
  onChange: ((state: RegistrationState, response?: SipResponse) => void) | null = null;
  /** Seconds the registrar granted on the last success. */
  granted = 0;
  private readonly core: UaCore;
  private readonly o: RegisterOptions;
  private readonly callId: string;
  private readonly fromTag = newTag();
  private seq = 0;
  private failures = 0;
  private timer: NodeJS.Timeout | null = null;
  private stopping = false;

  constructor(core: UaCore, o: RegisterOptions) {
    this.core = core;
    this.o = o;
    // One Call-ID for every REGISTER of this binding, as RFC 3261 10.2 asks.
    this.callId = newCallId(core.host);
    this.send(o.expires);
  }

  /** Called once when stopped or halted (the UA forgets it). */
  onStop: (() => void) | null = null;

  /** Stops refreshing without sending anything (the UA is closing). */
  halt(): void {
    this.stopping = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.set('stopped');
    this.onStop?.();
  }

  /** Un-REGISTERs (Expires: 0) if registered; resolves when the registrar answered. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const wasRegistered = this.state === 'registered';
    this.set('stopped');
    this.onStop?.();
    if (wasRegistered) await this.register(0).catch(() => undefined);
  }

  private set(state: RegistrationState, res?: SipResponse): void {
    const changed = state !== this.state;
    this.state = state;
    if (!changed) return;
    try {
      this.onChange?.(state, res);
    } catch (err) {
      this.core.log.error({ err }, 'sip registration handler threw');
    }
  }

  private register(expires: number): Promise<SipResponse> {
    const target = this.core.targetFor(this.o.proxy ?? this.o.registrar);
    const user = parseUri(this.o.aor).user;
    const req = buildRequest(this.core, {
      method: 'REGISTER',
      uri: this.o.registrar,
      from: this.o.aor,
      to: this.o.aor,
      callId: this.callId,
      fromTag: this.fromTag,
      seq: ++this.seq,
      proxy: this.o.proxy,
      headers: {
        contact: `${this.core.contact(target.transport, user)};expires=${expires}`,
        expires: String(expires),
      },
    });
    return sendWithAuth(this.core, req, this.o.credentials, this.o.proxy ?? this.o.registrar).then(
      (res) => {
        // A retry with credentials may have used the next CSeq; skip past it.
        this.seq += 1;
        return res;
      },
    );
  }

  private send(expires: number): void {
    // Whatever fails (a registrar URI that does not parse, a handler) is logged, never thrown
    // out of the refresh timer.
    Promise.resolve()
      .then(() => this.register(expires))
      .then((res) => {
        if (this.stopping) return;
        if (res.status >= 200 && res.status < 300) {
          this.failures = 0;
          this.granted = expiresOf(res) ?? expires;
          this.set('registered', res);
          // Refresh well before expiry: half way for short bindings, 30 s early for long ones.
          const refreshIn = this.granted > 60 ? this.granted - 30 : Math.max(1, this.granted / 2);
          this.schedule(refreshIn, () => this.send(expires));
          return;
        }
        const { min, max } = this.o.retry ?? { min: 30, max: 600 };
        const delay = Math.min(max, min * 2 ** this.failures++);
        this.core.log.warn(
          { status: res.status, registrar: this.o.registrar, retryIn: delay },
          'sip registration failed',
        );
        this.set('failed', res);
        this.schedule(delay, () => {
          this.set('registering');
          this.send(expires);
        });
      })
      .catch((err: unknown) => this.core.log.error({ err }, 'sip registration error'));
  }

  private schedule(seconds: number, fn: () => void): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      try {
        fn();
      } catch (err) {
        this.core.log.error({ err, registrar: this.o.registrar }, 'sip registration error');
      }
    }, seconds * 1000);
  }
}
