import type { Observe } from '../domain/observe.ts';
import { DialPlan } from '../domain/dial-plan.ts';
import type { EmailReader } from '../domain/email-reading.ts';
import type { MailboxService } from '../domain/mailbox-service.ts';
import type { MessageService } from '../domain/message-service.ts';
import type { Policy } from '../domain/policy.ts';
import type { ChangeFeed } from '../domain/ports.ts';
import type { OnceWork } from '../domain/run-once.ts';
import type { FlowEngineDeps } from '../flows/action.ts';
import type { FlowLog } from '../flows/flow-deps.ts';
import { FlowSet } from '../flows/flow-set.ts';
import { PromptCatalog } from '../prompts/catalog.ts';
import { EspeakSpeech } from '../prompts/speech.ts';
import { promptNames } from '../prompts/texts.ts';
import type { Credentials, SipLog } from '../sip/api.ts';
import type { DigestAlgorithm } from '../sip/digest.ts';
import { UserAgent, type Registration } from '../sip/user-agent.ts';
import { CallCounter } from './call-counter.ts';
import { CallMedia } from './call-media.ts';
import { Dialler } from './dialler.ts';
import { handleInvite } from './inbound-calls.ts';
import { LampWatcher } from './lamp-watcher.ts';
import { Mwi } from './mwi.ts';
import { PlayOnPhone } from './play-on-phone.ts';
import { Registrar, type Principal } from './registrar.ts';
import { SipTrust } from './sip-trust.ts';

/** How long calls in progress get, at shutdown, to hang up and store what they recorded. */
const CALLS_END_MS = 2500;

export interface PhoneDeps {
  mailboxes: MailboxService;
  messages: MessageService;
  feed: ChangeFeed;
  policy: Policy;
  log: SipLog & FlowLog;
  /** Whether this node runs the installation's once-only work (default: it does). */
  runsHere?: (work: OnceWork) => boolean;
  /** Told when the PBX registration is made or lost (the registration-lost alarm). */
  observe?: Observe;
  /** Owners' e-mail read by phone (the composition root's reader). */
  emailReader?: EmailReader;
}

export interface PhoneOptions {
  host: string;
  port: number;
  tcp: boolean;
  mediaHost: string;
  rtpPortMin: number;
  rtpPortMax: number;
  maxCalls: number;
  /** Simultaneous calls from one source that is not in trustedPeers. */
  maxCallsPerSource?: number;
  /**
   * PBXs and proxies (CIDR): many callers share their address, so no per-source limit; their
   * caller ID stands, and no digest is asked of them.
   */
  trustedPeers?: string[];
  /** TCP connections (limits.perAddress, limits.total; a message must be whole in handshakeSeconds). */
  limits?: { perAddress: number; total: number; handshakeSeconds: number };
  accessNumbers: string[];
  registerFrom: string[];
  /** Where outgoing calls may go beyond the mailboxes' extensions (sip.dialPlan). */
  dialPlan: string[];
  /** The digest realm of phones' credentials; empty = domain. */
  realm: string;
  /** Digest algorithms offered to phones, preferred first. */
  digestAlgorithms: DigestAlgorithm[];
  /** The flows file, resolved. */
  flowsFile: string;
  pbx: {
    uri: string;
    username: string;
    password: string;
    register: boolean;
    registerSeconds: number;
    unsolicitedMwi: boolean;
  };
  /** server.domain: our SIP domain in lamps and From headers. */
  domain: string;
  language: string;
  timeZone: string;
  version: string;
  /** Tests: short SIP timers, a prompt folder. */
  timers?: { t1?: number; t2?: number; t4?: number };
  promptDir?: string;
}

/** What exists only while the part listens: the sockets and what sends through them. */
interface Listening {
  ua: UserAgent;
  media: CallMedia;
  playOnPhone: PlayOnPhone;
  lamps: LampWatcher;
  mwi: Mwi;
  registration: Registration | null;
}

/**
 * The phone part: one SIP user agent answering calls with call flows, the lamps (registrar,
 * subscriptions, PBX notifications), a registration to the PBX, and "play on my phone".
 * `build` checks the configuration (dial plan, call flows) and binds nothing; `listen` opens the
 * SIP and RTP sockets and starts the lamps and the registration.
 */
export class Phone {
  readonly counter: CallCounter;
  /** Outgoing calls' dial plan checks and their counts (`dialler.stats()`). */
  readonly dialler: Dialler;
  readonly #deps: PhoneDeps;
  readonly #opts: PhoneOptions;
  readonly #engine: FlowEngineDeps;
  readonly #flows: FlowSet;
  readonly #trust: SipTrust;
  readonly #registrar: Registrar;
  #listening: Listening | null = null;

  private constructor(
    deps: PhoneDeps,
    opts: PhoneOptions,
    built: {
      engine: FlowEngineDeps;
      flows: FlowSet;
      trust: SipTrust;
      registrar: Registrar;
      counter: CallCounter;
      dialler: Dialler;
    },
  ) {
    this.#deps = deps;
    this.#opts = opts;
    this.#engine = built.engine;
    this.#flows = built.flows;
    this.#trust = built.trust;
    this.#registrar = built.registrar;
    this.counter = built.counter;
    this.dialler = built.dialler;
  }

  static async build(deps: PhoneDeps, opts: PhoneOptions): Promise<Phone> {
    const log = deps.log;
    // A bad pattern stops the start-up here, naming it.
    const plan = new DialPlan(opts.dialPlan);
    const prompts = new PromptCatalog({ wavDir: opts.promptDir, log });
    const engine: FlowEngineDeps = {
      mailboxes: deps.mailboxes,
      messages: deps.messages,
      policy: deps.policy,
      prompts,
      speech: new EspeakSpeech({ prompts, log }),
      log,
      defaultLanguage: opts.language,
      timeZone: opts.timeZone,
      now: () => Date.now(),
      emailReader: deps.emailReader,
    };
    // Each (re)load is checked against the mailboxes and prompts of that moment.
    const flows = new FlowSet({
      file: opts.flowsFile,
      log,
      context: async () => ({
        promptNames: promptNames(),
        mailboxes: (await deps.mailboxes.list()).map((m) => ({
          name: m.name,
          extension: m.extension,
        })),
        accessNumbers: opts.accessNumbers,
        dialPlan: opts.dialPlan,
      }),
    });
    await flows.current();
    const trust = new SipTrust(deps.mailboxes, {
      trustedPeers: opts.trustedPeers ?? [],
      registerFrom: opts.registerFrom,
      realm: opts.realm || opts.domain,
      algorithms: opts.digestAlgorithms,
    });
    const counter = new CallCounter({
      limit: opts.maxCalls,
      perSource: opts.maxCallsPerSource,
      exempt: (address) => trust.isTrustedPeer(address),
    });
    const registrar = new Registrar(deps.mailboxes);
    const dialler = new Dialler({
      plan,
      mailboxes: deps.mailboxes,
      registrar,
      pbxHost: pbxHostOf(opts),
      domain: opts.domain,
      log,
    });
    return new Phone(deps, opts, { engine, flows, trust, registrar, counter, dialler });
  }

  /** Opens the SIP and RTP sockets; once. */
  async listen(): Promise<void> {
    if (this.#listening) throw new Error('the phone part is listening already');
    const { log } = this.#deps;
    const opts = this.#opts;
    const ua = await UserAgent.start({
      host: opts.host,
      port: opts.port,
      tcp: opts.tcp,
      userAgent: `Voicegate/${opts.version}`,
      timers: opts.timers,
      tcpLimits: opts.limits && {
        perAddress: opts.limits.perAddress,
        total: opts.limits.total,
        messageMs: opts.limits.handshakeSeconds * 1000,
      },
      log,
    });
    const wildcard = opts.host === '0.0.0.0' || opts.host === '::';
    if (wildcard && !opts.mediaHost)
      log.warn({ host: opts.host }, 'sip.mediaHost is empty: SDP offers 127.0.0.1; set it');
    const advertise = opts.mediaHost || (wildcard ? '127.0.0.1' : opts.host);
    let media: CallMedia;
    try {
      media = await CallMedia.start(
        { bindAddress: opts.host, advertise, portMin: opts.rtpPortMin, portMax: opts.rtpPortMax },
        log,
      );
    } catch (err) {
      await ua.close();
      throw err;
    }
    const pbxHost = pbxHostOf(opts);
    const credentials: Credentials | undefined = opts.pbx.username
      ? { username: opts.pbx.username, password: opts.pbx.password }
      : undefined;
    const referUri = (target: string): Promise<string | null> => this.dialler.transferUri(target);
    let mwi: Mwi | null = null;
    const lamps = new LampWatcher(
      {
        feed: this.#deps.feed,
        messages: this.#deps.messages,
        onError: (err) => log.error({ err }, 'lamp update failed'),
      },
      (mailboxId, state) => void mwi?.changed(mailboxId, state),
    );
    // Lamps a PBX is told of unasked, and the registration to it, are the installation's,
    // not each node's: only the node that runs them does.
    const runsHere = this.#deps.runsHere ?? (() => true);
    mwi = new Mwi(
      { ua, mailboxes: this.#deps.mailboxes, lamps, registrar: this.#registrar, log },
      {
        domain: opts.domain,
        pbx: opts.pbx.unsolicitedMwi && opts.pbx.uri ? { uri: opts.pbx.uri, credentials } : null,
        // Asked at each change: a backup becomes live, a partition's rule changes its mind.
        sendsToPbx: () => runsHere('pbx-lamps'),
      },
    );
    lamps.start();

    const trust = this.#trust;
    const registrar = this.#registrar;
    ua.onInvite = (invite) =>
      handleInvite(invite, {
        flows: this.#flows,
        engine: this.#engine,
        mailboxes: this.#deps.mailboxes,
        media,
        counter: this.counter,
        trust,
        accessNumbers: opts.accessNumbers,
        referUri,
        log,
      }).catch((err: unknown) => {
        // A call that fails ends alone: the caller hears a 500 if nothing was sent yet.
        log.error({ err }, 'call failed');
        invite.reject(500);
      });
    ua.onRequest = (req) => {
      const method = req.request.method;
      if (method !== 'REGISTER' && method !== 'SUBSCRIBE') return req.respond(405);
      const remote = req.source.address;
      if (!trust.mayRegister(remote)) {
        log.warn({ method, remote }, 'refused: not in sip.registerFrom');
        return req.respond(403, 'Forbidden');
      }
      const work = (async (): Promise<void> => {
        let principal: Principal = { peer: true };
        if (!trust.isTrustedPeer(remote)) {
          // A phone: its digest user name is the one extension it may bind or watch.
          const check = await trust.verify(req.request);
          if (!check.ok) {
            if (check.reason === 'missing' || check.reason === 'stale')
              return req.respond(401, 'Unauthorized', trust.challenge(check.reason === 'stale'));
            log.warn({ method, remote, reason: check.reason }, 'refused: SIP credentials');
            return req.respond(403, 'Forbidden');
          }
          principal = { extension: check.username };
        }
        await (method === 'REGISTER'
          ? registrar.register(req, principal)
          : mwi!.subscribe(req, principal));
      })();
      work.catch((err: unknown) => {
        log.error({ err, method }, 'request failed');
        req.respond(500);
      });
    };

    const registration =
      opts.pbx.register && opts.pbx.uri && runsHere('pbx-registration')
        ? ua.register({
            registrar: opts.pbx.uri,
            aor: `sip:${opts.pbx.username || 'voicemail'}@${pbxHost}`,
            credentials,
            expires: opts.pbx.registerSeconds,
          })
        : null;
    if (registration)
      registration.onChange = (state, res) => {
        log.info({ state, status: res?.status, registrar: opts.pbx.uri }, 'PBX registration');
        if (state === 'registered' || state === 'failed')
          this.#deps.observe?.({
            event: 'registration',
            registered: state === 'registered',
            detail: `${opts.pbx.uri}: ${res ? `${res.status} ${res.reason}` : state}`,
          });
      };

    const playOnPhone = new PlayOnPhone({
      ua,
      media,
      counter: this.counter,
      engine: this.#engine,
      registrar,
      dialler: this.dialler,
      domain: opts.domain,
      pbx: opts.pbx.uri ? { uri: opts.pbx.uri, host: pbxHost, credentials } : null,
      log,
    });
    this.#listening = { ua, media, playOnPhone, lamps, mwi, registration };
    log.info(
      { port: ua.port, tcp: ua.tcpPort, maxCalls: opts.maxCalls, media: advertise },
      'SIP listening',
    );
  }

  #running(): Listening {
    if (!this.#listening) throw new Error('the phone part is not listening');
    return this.#listening;
  }

  get ua(): UserAgent {
    return this.#running().ua;
  }

  get media(): CallMedia {
    return this.#running().media;
  }

  get playOnPhone(): PlayOnPhone {
    return this.#running().playOnPhone;
  }

  get port(): number {
    return this.ua.port;
  }

  /** The call flows in use (the admin area shows when they were read). */
  get flows(): FlowSet {
    return this.#flows;
  }

  async close(): Promise<void> {
    const running = this.#listening;
    if (!running) return;
    this.#listening = null;
    running.lamps.stop();
    running.mwi.close();
    // Un-REGISTER, but a PBX that does not answer must not hold up the shutdown.
    if (running.registration)
      await Promise.race([
        running.registration.stop().catch(() => {}),
        new Promise((resolve) => setTimeout(resolve, 2000).unref()),
      ]);
    // Calls in progress get a BYE, and their flows end as on any hang-up: a recording long
    // enough is stored. Bounded: a caller that never answers the BYE, or a slow store, must not
    // hold up the shutdown.
    await Promise.race([
      Promise.all([running.ua.hangUpAll(), this.counter.idle()]),
      new Promise((resolve) => setTimeout(resolve, CALLS_END_MS).unref()),
    ]);
    await running.ua.close();
    await running.media.stop();
  }
}

function pbxHostOf(opts: PhoneOptions): string {
  return opts.pbx.uri.replace(/^sips?:/, '').replace(/[;?].*$/, '');
}
