import { SMTPServer, type SMTPServerOptions, type SMTPServerSession } from 'smtp-server';

/** One mail as the receiving server saw it: envelope, raw bytes and how the session went. */
export interface ReceivedMail {
  from: string;
  to: string[];
  raw: Buffer;
  /** Whether the session was under TLS (implicit or after STARTTLS) when the mail came. */
  secure: boolean;
  /** The authenticated user and the SASL method used, or null without AUTH. */
  user: string | null;
  authMethod: string | null;
}

export interface RecorderOptions {
  /** `starttls` (offered), `none` (not offered at all) or `implicit` (TLS from the first byte). */
  tls: 'starttls' | 'none' | 'implicit';
  /** Key and certificate, for `starttls` and `implicit`. */
  cert?: { key: string; cert: string };
  /** Requires AUTH (PLAIN, LOGIN or CRAM-MD5, only under TLS) with these credentials. */
  auth?: { user: string; password: string };
  /** Offers AUTH without TLS too, as a careless server (or a man in the middle) would. */
  insecureAuth?: boolean;
  /** A port to listen on; a free one by default. */
  port?: number;
}

/**
 * What the server answers to each mail: `accept`, a temporary refusal after the data (`451`)
 * or a permanent refusal of the recipient (`550`).
 */
export type Answer = 'accept' | 'defer' | 'reject';

interface SessionUser {
  name: string;
  method: string;
}

/**
 * A strict SMTP server on loopback that records what it receives. It can refuse (4xx, 5xx),
 * and go down (nothing listening) and come back on the same port.
 */
export class SmtpRecorder {
  readonly mails: ReceivedMail[] = [];
  /** Every AUTH attempt, successful or not. */
  readonly logins: { method: string; user: string; ok: boolean; secure: boolean }[] = [];
  /** Every connection, whatever became of it. */
  connections = 0;
  answer: Answer = 'accept';
  /** Recipients never refused, whatever `answer` says (an administrator's mailbox here). */
  readonly alwaysAccept = new Set<string>();
  /** How long to wait after the data before answering: a slow server. */
  delayMs = 0;
  /** Mails whose data has started to arrive (answered or not). */
  receiving = 0;
  /** Leaves every RCPT TO unanswered: a delivery stays under way until the client goes. */
  holdEnvelope = false;
  /** Recipients given (answered or not). */
  recipients = 0;
  port = 0;
  readonly #opts: RecorderOptions;
  #server: SMTPServer | null = null;

  private constructor(opts: RecorderOptions) {
    this.#opts = opts;
  }

  static async start(opts: RecorderOptions): Promise<SmtpRecorder> {
    const recorder = new SmtpRecorder(opts);
    recorder.port = opts.port ?? 0;
    await recorder.up();
    return recorder;
  }

  #options(): SMTPServerOptions {
    const { tls, cert, auth, insecureAuth } = this.#opts;
    const disabled: string[] = [];
    if (tls === 'none') disabled.push('STARTTLS');
    if (!auth) disabled.push('AUTH');
    return {
      secure: tls === 'implicit',
      ...(cert ?? {}),
      name: 'mx.test.example',
      logger: false,
      disableReverseLookup: true,
      disabledCommands: disabled,
      authMethods: ['PLAIN', 'LOGIN', 'CRAM-MD5'],
      // Strict: AUTH is needed when configured, and only allowed under TLS unless told otherwise.
      authOptional: !auth,
      allowInsecureAuth: insecureAuth ?? false,
      size: 5 * 1024 * 1024,
      rejectOversized: true,
      closeTimeout: 200,
      socketTimeout: 10_000,
      onConnect: (_session, callback) => {
        this.connections++;
        callback();
      },
      onAuth: (login, session, callback) => {
        const user = login.username ?? '';
        const ok =
          !!auth &&
          user === auth.user &&
          (login.method === 'CRAM-MD5'
            ? login.validatePassword(auth.password)
            : login.password === auth.password);
        this.logins.push({ method: login.method, user, ok, secure: session.secure });
        if (!ok) return callback(new Error('Invalid username or password'));
        callback(null, { user: { name: user, method: login.method } satisfies SessionUser });
      },
      onRcptTo: (address, _session, callback) => {
        this.recipients++;
        if (this.holdEnvelope) return;
        if (this.answer !== 'reject' || this.alwaysAccept.has(address.address)) return callback();
        callback(Object.assign(new Error('5.1.1 No such user here'), { responseCode: 550 }));
      },
      onData: (stream, session, callback) => {
        this.receiving++;
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', () => {
          const mail = record(session, Buffer.concat(chunks));
          setTimeout(() => {
            if (this.answer === 'defer') {
              return callback(
                Object.assign(new Error('4.3.0 Try again later'), { responseCode: 451 }),
              );
            }
            this.mails.push(mail);
            callback(null, 'Queued as test');
          }, this.delayMs);
        });
      },
    };
  }

  /** Starts listening (again) on the same port. */
  async up(): Promise<void> {
    if (this.#server) return;
    const server = new SMTPServer(this.#options());
    server.on('error', () => {});
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.port = (server.server.address() as { port: number }).port;
    this.#server = server;
  }

  /** Stops listening: connections are refused until `up`. */
  async down(): Promise<void> {
    const server = this.#server;
    this.#server = null;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  close(): Promise<void> {
    return this.down();
  }

  /** Waits (up to `ms`) until at least `count` mails arrived; returns them all. */
  async waitFor(count = 1, ms = 10_000): Promise<ReceivedMail[]> {
    const deadline = Date.now() + ms;
    while (this.mails.length < count) {
      if (Date.now() > deadline)
        throw new Error(`expected ${count} mail(s) within ${ms} ms, got ${this.mails.length}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    return this.mails;
  }
}

function record(session: SMTPServerSession, raw: Buffer): ReceivedMail {
  const { mailFrom, rcptTo } = session.envelope;
  const user = session.user as SessionUser | undefined;
  return {
    from: mailFrom ? mailFrom.address : '',
    to: rcptTo.map((r) => r.address),
    raw,
    secure: session.secure,
    user: user?.name ?? null,
    authMethod: user?.method ?? null,
  };
}
