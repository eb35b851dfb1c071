import { WEEKDAYS } from '../domain/backup-schedule.ts';
import { TopologySchema } from './topology.ts';
import { Type, type Static, type TProperties } from '@sinclair/typebox';

/** RFC 5424's facilities, by name (their code is the index). */
export const SYSLOG_FACILITIES = [
  'kern',
  'user',
  'mail',
  'daemon',
  'auth',
  'syslog',
  'lpr',
  'news',
  'uucp',
  'cron',
  'authpriv',
  'ftp',
  'ntp',
  'audit',
  'alert',
  'clock',
  'local0',
  'local1',
  'local2',
  'local3',
  'local4',
  'local5',
  'local6',
  'local7',
] as const;

/** The config file's schema: it validates the YAML, fills defaults and gives the types. */
const Listener = <T extends TProperties>(port: number, extra: T) =>
  Type.Object(
    {
      host: Type.String({ default: '127.0.0.1', minLength: 1 }),
      port: Type.Integer({ default: port, minimum: 0, maximum: 65535 }),
      ...extra,
    },
    { additionalProperties: false, default: {} },
  );

const Hours = (def: number) => Type.Number({ default: def, minimum: 0 });

/** A delivery target's limits: a slow target holds up only its own deliveries. */
const DeliveryTarget = (timeoutSeconds: number, concurrency: number) =>
  Type.Object(
    {
      timeoutSeconds: Type.Number({ default: timeoutSeconds, minimum: 1, maximum: 3600 }),
      concurrency: Type.Integer({ default: concurrency, minimum: 1, maximum: 100 }),
    },
    { additionalProperties: false, default: {} },
  );

/** The name mailboxes use (`--exchange-connection`) to pick an Exchange connection. */
const ConnectionName = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_.-]+$' });

/**
 * Exchange Server (2016, 2019, SE) or Exchange Online through EWS: `url` is the EWS endpoint
 * (https://mail.contoso.com/EWS/Exchange.asmx); basic and ntlm log in as `username` (a service
 * account with ApplicationImpersonation, or FullAccess to each mailbox with `impersonation:
 * false`), oauth uses the app's token (client credentials) from `tenant`/`clientId`.
 */
const EwsConnection = Type.Object(
  {
    name: ConnectionName,
    kind: Type.Literal('ews'),
    url: Type.String({ minLength: 1, pattern: '^https?://' }),
    auth: Type.Union([Type.Literal('basic'), Type.Literal('ntlm'), Type.Literal('oauth')], {
      default: 'basic',
    }),
    username: Type.String({ default: '' }),
    password: Type.String({ default: '' }),
    /** Act as each mailbox's owner (ExchangeImpersonation); false: delegate access. */
    impersonation: Type.Boolean({ default: true }),
    tenant: Type.String({ default: '' }),
    clientId: Type.String({ default: '' }),
    clientSecret: Type.String({ default: '' }),
    authority: Type.String({ default: 'https://login.microsoftonline.com' }),
    /** PEM file of the CA (or self-signed certificate) to trust for this server's TLS. */
    caFile: Type.String({ default: '' }),
  },
  { additionalProperties: false },
);

/**
 * Exchange Online through Microsoft Graph, as an app registration with the application
 * permission Mail.ReadWrite: client credentials (a secret, or a certificate) from `authority`
 * (national clouds and tests override it and `endpoint`).
 */
const GraphConnection = Type.Object(
  {
    name: ConnectionName,
    kind: Type.Literal('graph'),
    tenant: Type.String({ minLength: 1 }),
    clientId: Type.String({ minLength: 1 }),
    clientSecret: Type.String({ default: '' }),
    /** Instead of a secret: the certificate's PEM private key file and its SHA-1 thumbprint. */
    certificate: Type.Object(
      {
        privateKeyFile: Type.String({ default: '' }),
        thumbprint: Type.String({
          default: '',
          pattern: '^([0-9A-Fa-f]{40}|[0-9A-Fa-f]{64})?$',
        }),
      },
      { additionalProperties: false, default: {} },
    ),
    authority: Type.String({ default: 'https://login.microsoftonline.com', pattern: '^https://' }),
    endpoint: Type.String({ default: 'https://graph.microsoft.com', pattern: '^https?://' }),
    /** PEM file of the CA (or self-signed certificate) to trust for the authority and endpoint. */
    caFile: Type.String({ default: '' }),
  },
  { additionalProperties: false },
);

export const ConfigSchema = Type.Object(
  {
    server: Type.Object(
      {
        // Dot-separated words: it is the right-hand side of each voicemail's Message-ID.
        name: Type.String({
          default: 'voicegate',
          minLength: 1,
          maxLength: 200,
          pattern: '^[A-Za-z0-9_-]+(\\.[A-Za-z0-9_-]+)*$',
        }),
        domain: Type.String({
          default: 'voicegate.local',
          minLength: 1,
          pattern: '^[A-Za-z0-9.-]+$',
        }),
        role: Type.Union(
          [
            Type.Literal('standalone'),
            Type.Literal('central'),
            Type.Literal('backup'),
            Type.Literal('distributed'),
          ],
          { default: 'standalone' },
        ),
        dataDir: Type.String({ default: '.', minLength: 1 }),
        locale: Type.String({ default: 'en-US', pattern: '^[a-z]{2,3}(-[A-Z]{2})?$' }),
        timeZone: Type.String({ default: 'UTC', minLength: 1 }),
      },
      { additionalProperties: false, default: {} },
    ),
    /** Where messages, audio and the journal are kept; the embedded store lives in server.dataDir. */
    store: Type.Object(
      {
        backend: Type.Union([Type.Literal('sqlite'), Type.Literal('postgresql')], {
          default: 'sqlite',
        }),
        /** postgresql: the database, e.g. postgresql://voicegate:PASSWORD@db.example/voicegate */
        url: Type.String({ default: '' }),
      },
      { additionalProperties: false, default: {} },
    ),
    tls: Type.Object(
      {
        cert: Type.String({ default: 'tls/cert.pem', minLength: 1 }),
        key: Type.String({ default: 'tls/key.pem', minLength: 1 }),
      },
      { additionalProperties: false, default: {} },
    ),
    http: Listener(8443, {
      tls: Type.Boolean({ default: true }),
      sessionIdleMinutes: Type.Number({ default: 30, minimum: 1, maximum: 720 }),
      /**
       * Reverse proxies (addresses, CIDR) whose X-Forwarded-For names the client: the lockout's
       * per-address count and the logs see the real client, and the proxy's own connections
       * are limited only by limits.total, not limits.perAddress.
       */
      trustProxy: Type.Array(Type.String({ minLength: 1 }), { default: [] }),
    }),
    imap: Listener(143, {
      tlsPort: Type.Integer({ default: 993, minimum: 0, maximum: 65535 }),
      allowPlaintextAuth: Type.Boolean({ default: false }),
      quotaMB: Type.Number({ default: 200, minimum: 1 }),
    }),
    sip: Listener(5060, {
      /** SIP over TCP on the same port as UDP. */
      tcp: Type.Boolean({ default: true }),
      /** Address offered for media in SDP; empty = sip.host. */
      mediaHost: Type.String({ default: '' }),
      /** RTP ports (one even port per call); 0 and 0 = any free port. */
      rtpPortMin: Type.Integer({ default: 40000, minimum: 0, maximum: 65534 }),
      rtpPortMax: Type.Integer({ default: 40999, minimum: 0, maximum: 65535 }),
      /** Simultaneous calls; beyond it calls are refused with 486 and counted. */
      maxCalls: Type.Integer({ default: 150, minimum: 1, maximum: 5000 }),
      /** Simultaneous calls from one source address that is not a trusted peer (486 beyond it). */
      maxCallsPerSource: Type.Integer({ default: 10, minimum: 1, maximum: 5000 }),
      /**
       * PBXs and proxies trusted by address (CIDR): their caller ID (From, P-Asserted-Identity)
       * may open a mailbox without its code, and maxCallsPerSource does not apply to them.
       */
      trustedPeers: Type.Array(Type.String({ minLength: 1 }), { default: [] }),
      /** Digest realm for phones' SIP credentials; empty = server.domain. */
      realm: Type.String({ default: '' }),
      /**
       * Digest algorithms offered to phones, preferred first. Phones that fail on a challenge
       * they cannot answer instead of skipping it (baresip 1.0 with libre 1.1) need ['MD5'].
       */
      digestAlgorithms: Type.Array(Type.Union([Type.Literal('SHA-256'), Type.Literal('MD5')]), {
        default: ['SHA-256', 'MD5'],
        minItems: 1,
      }),
      /**
       * Where outgoing calls (call back, play on my phone, transfers, breakouts) may go beyond
       * the installation's own extensions: number patterns (X any digit, N 2-9, Z 1-9,
       * [1-5] a range, a trailing . any further digits), e.g. ['9NXXXXXX'].
       */
      dialPlan: Type.Array(Type.String({ pattern: '^[0-9*#+XNZxnz.\\[\\]-]+$' }), { default: [] }),
      /**
       * Addresses (CIDR) whose phones may REGISTER and SUBSCRIBE to lamps: a registered contact
       * is where "play on my phone" rings, so only trusted networks may bind one.
       */
      registerFrom: Type.Array(Type.String({ minLength: 1 }), { default: ['127.0.0.0/8', '::1'] }),
      /** Numbers where anyone collects messages with mailbox and code. */
      accessNumbers: Type.Array(Type.String({ pattern: '^[0-9*#+]+$' }), { default: ['800'] }),
      /** Call flows (YAML), relative to the data folder; a missing file = the built-in flows. */
      flowsFile: Type.String({ default: 'flows.yaml', minLength: 1 }),
      pbx: Type.Object(
        {
          /** The PBX or proxy for outbound calls and unsolicited lamps, e.g. sip:pbx.example.com:5060. */
          uri: Type.String({ default: '' }),
          username: Type.String({ default: '' }),
          password: Type.String({ default: '' }),
          /** REGISTER to the PBX (with digest authentication) and keep the registration fresh. */
          register: Type.Boolean({ default: false }),
          registerSeconds: Type.Integer({ default: 3600, minimum: 60, maximum: 86400 }),
          /** Send message-summary NOTIFYs for every mailbox to the PBX, not only to subscribed phones. */
          unsolicitedMwi: Type.Boolean({ default: false }),
        },
        { additionalProperties: false, default: {} },
      ),
    }),
    /** Connection limits of every TCP listener (IMAP, SMTP, HTTPS, SIP over TCP). */
    limits: Type.Object(
      {
        /** Simultaneous connections from one client address, per listener. */
        perAddress: Type.Integer({ default: 50, minimum: 1, maximum: 100000 }),
        /** Simultaneous connections in all, per listener. */
        total: Type.Integer({ default: 2000, minimum: 1, maximum: 1000000 }),
        /** Time a client has to finish its TLS handshake. */
        handshakeSeconds: Type.Number({ default: 10, minimum: 1, maximum: 300 }),
        /** Time from connect to login (IMAP, SMTP AUTH sessions): a trickle does not extend it. */
        preAuthSeconds: Type.Number({ default: 180, minimum: 5, maximum: 3600 }),
      },
      { additionalProperties: false, default: {} },
    ),
    smtp: Listener(25, {
      maxMessageMB: Type.Number({ default: 25, minimum: 0.1, maximum: 1024 }),
      /** IP addresses and CIDR ranges that may connect; empty = everyone. */
      allowedPeers: Type.Array(Type.String({ minLength: 1 }), { default: [] }),
      requireAuth: Type.Boolean({ default: false }),
    }),
    mail: Type.Object(
      {
        /** Sender of voicemail e-mail; empty = the mailbox's own address. */
        from: Type.String({ default: '' }),
        /** Public base URL of the web player for links in mail; empty = this server's https URL. */
        webUrl: Type.String({ default: '' }),
        retryHours: Type.Number({ default: 48, minimum: 0.01 }),
        servers: Type.Array(
          Type.Object(
            {
              host: Type.String({ minLength: 1 }),
              port: Type.Integer({ default: 25, minimum: 1, maximum: 65535 }),
              tls: Type.Union(
                [Type.Literal('implicit'), Type.Literal('starttls'), Type.Literal('opportunistic')],
                {
                  default: 'opportunistic',
                },
              ),
              plaintextFallback: Type.Boolean({ default: false }),
              user: Type.String({ default: '' }),
              password: Type.String({ default: '' }),
              authMethod: Type.Union(
                [Type.Literal('PLAIN'), Type.Literal('LOGIN'), Type.Literal('CRAM-MD5')],
                {
                  default: 'PLAIN',
                },
              ),
              from: Type.String({ default: '' }),
              domains: Type.Array(Type.String({ minLength: 1 }), { default: [] }),
              /** PEM file of the CA (or self-signed certificate) to trust for this server's TLS. */
              caFile: Type.String({ default: '' }),
            },
            { additionalProperties: false },
          ),
          { default: [] },
        ),
      },
      { additionalProperties: false, default: {} },
    ),
    delivery: Type.Object(
      {
        /** Per target kind: how long one delivery may take, and how many may run at once. */
        targets: Type.Object(
          {
            smtp: DeliveryTarget(120, 2),
            ews: DeliveryTarget(120, 4),
            graph: DeliveryTarget(120, 4),
            /** Sync mail to other Voicegate servers: one at a time keeps the order of recording. */
            peer: DeliveryTarget(60, 1),
          },
          { additionalProperties: false, default: {} },
        ),
      },
      { additionalProperties: false, default: {} },
    ),
    /** Exchange servers that mailboxes at home in Exchange use (`mailbox set --home exchange`). */
    exchange: Type.Object(
      {
        connections: Type.Array(Type.Union([EwsConnection, GraphConnection]), { default: [] }),
        /** How often each Exchange mailbox's changes are read back (Graph delta, EWS sync). */
        syncSeconds: Type.Number({ default: 5, minimum: 1, maximum: 3600 }),
      },
      { additionalProperties: false, default: {} },
    ),
    policy: Type.Object(
      {
        minMessageSeconds: Type.Number({ default: 1, minimum: 0, maximum: 60 }),
        maxMessageSeconds: Type.Number({ default: 120, minimum: 1, maximum: 3600 }),
        minCodeLength: Type.Integer({ default: 4, minimum: 0, maximum: 15 }),
        lockout: Type.Object(
          {
            failures: Type.Integer({ default: 5, minimum: 0, maximum: 100 }),
            minutes: Type.Number({ default: 15, minimum: 0 }),
            /** Wrong codes from one client address, over every mailbox and channel, before it is refused. */
            perAddressFailures: Type.Integer({ default: 20, minimum: 0, maximum: 10000 }),
          },
          { additionalProperties: false, default: {} },
        ),
      },
      { additionalProperties: false, default: {} },
    ),
    housekeeping: Type.Object(
      {
        intervalMinutes: Type.Number({ default: 60, minimum: 1 }),
        deleteAfterHours: Type.Object(
          { new: Hours(0), unopened: Hours(0), old: Hours(720), saved: Hours(0) },
          { additionalProperties: false, default: {} },
        ),
        purgeDeletedAfterHours: Hours(168),
        playbackOrder: Type.Union([Type.Literal('fifo'), Type.Literal('lifo')], {
          default: 'fifo',
        }),
      },
      { additionalProperties: false, default: {} },
    ),
    log: Type.Object(
      {
        level: Type.Union(
          ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) =>
            Type.Literal(l),
          ),
          { default: 'info' },
        ),
      },
      { additionalProperties: false, default: {} },
    ),
    /** Scheduled backups (voicegate backup create, run by the server) and where they go. */
    backup: Type.Object(
      {
        schedule: Type.Union([Type.Literal('off'), Type.Literal('daily'), Type.Literal('weekly')], {
          default: 'off',
        }),
        /** HH:MM in server.timeZone. */
        at: Type.String({ default: '03:00', pattern: '^([01][0-9]|2[0-3]):[0-5][0-9]$' }),
        weekday: Type.Union(
          WEEKDAYS.map((d) => Type.Literal(d)),
          { default: 'sunday' },
        ),
        /** How many backups each destination keeps: older ones are removed after a new one. */
        keep: Type.Integer({ default: 7, minimum: 1, maximum: 10000 }),
        destinations: Type.Array(
          Type.Union([
            Type.Object(
              { type: Type.Literal('folder'), path: Type.String({ minLength: 1 }) },
              { additionalProperties: false },
            ),
            Type.Object(
              {
                type: Type.Literal('sftp'),
                host: Type.String({ minLength: 1 }),
                port: Type.Integer({ default: 22, minimum: 1, maximum: 65535 }),
                username: Type.String({ minLength: 1 }),
                /** OpenSSH private key file (relative to the data folder). */
                privateKeyFile: Type.String({ minLength: 1 }),
                passphrase: Type.String({ default: '' }),
                /** The server's host key as `ssh-keygen -lf` prints it (SHA256:...): no other is trusted. */
                hostKeyFingerprint: Type.String({ pattern: '^SHA256:[A-Za-z0-9+/]{43}$' }),
                /** Remote folder. */
                path: Type.String({ default: '.', minLength: 1 }),
              },
              { additionalProperties: false },
            ),
          ]),
          { default: [] },
        ),
      },
      { additionalProperties: false, default: {} },
    ),
    /** The other servers of a network (server.role central, backup or distributed). */
    topology: TopologySchema,
    /** Prometheus /metrics: on a port of its own, or on the HTTP port behind a bearer token. */
    metrics: Type.Object(
      {
        enabled: Type.Boolean({ default: false }),
        /** A listener of its own (no token asked there); null serves /metrics on http.port. */
        listen: Type.Union([Listener(9464, {}), Type.Null()], { default: null }),
        /** The bearer token /metrics on the HTTP port asks for (at least 16 characters). */
        token: Type.String({ default: '' }),
      },
      { additionalProperties: false, default: {} },
    ),
    /** RFC 5424 syslog to a collector: audit records, warnings and errors. */
    syslog: Type.Object(
      {
        /** udp://host:514, tcp://host:601 (octet counting) or tls://host:6514; '' = off. */
        target: Type.String({ default: '', pattern: '^$|^(udp|tcp|tls)://[^/]+:[0-9]+$' }),
        facility: Type.Union(
          SYSLOG_FACILITIES.map((f) => Type.Literal(f)),
          { default: 'local0' },
        ),
        appName: Type.String({ default: 'voicegate', pattern: '^[!-~]{1,48}$' }),
        /** The least severe level sent; audit records are sent whatever their level. */
        level: Type.Union(
          ['fatal', 'error', 'warn', 'info', 'debug'].map((l) => Type.Literal(l)),
          { default: 'warn' },
        ),
        /** CA file (PEM, relative to the data folder) the collector's TLS certificate is checked against; '' = the system's. */
        caFile: Type.String({ default: '' }),
        /** Records held while the collector is away; beyond it the oldest are dropped and counted. */
        buffer: Type.Integer({ default: 1000, minimum: 10, maximum: 100000 }),
      },
      { additionalProperties: false, default: {} },
    ),
    /** Alarms: logged, sent to syslog, shown by /metrics and optionally mailed. */
    alarms: Type.Object(
      {
        /** Raised when the data folder's disk has less free than this, in MB. */
        diskFreeMinMB: Type.Number({ default: 1024, minimum: 0 }),
        /** Raised when the oldest pending delivery waited longer than this, in minutes. */
        queueStuckMinutes: Type.Number({ default: 60, minimum: 1 }),
        checkSeconds: Type.Number({ default: 60, minimum: 1, maximum: 3600 }),
        /** An administrator's address: each alarm raised and cleared is mailed there, through the queue; '' = none. */
        mailTo: Type.String({ default: '', pattern: '^$|^[^@\\s]+@[^@\\s]+$' }),
      },
      { additionalProperties: false, default: {} },
    ),
    /** Reading owners' e-mail by phone (`mailbox set --read-email`). */
    readEmail: Type.Object(
      {
        /**
         * The server's key that seals e-mail account secrets in the store (relative to the data
         * folder); made at first use, mode 0600. Keep it out of the database's backups' reach.
         */
        keyFile: Type.String({ default: 'server.key', minLength: 1 }),
        /** New e-mails read in one call, newest first. */
        maxPerCall: Type.Integer({ default: 10, minimum: 1, maximum: 100 }),
        /** How long the mail server may take to answer before the caller hears it cannot. */
        timeoutSeconds: Type.Number({ default: 5, minimum: 1, maximum: 60 }),
      },
      { additionalProperties: false, default: {} },
    ),
    audit: Type.Object(
      {
        /** Days the audit trail keeps a record; housekeeping removes older ones. */
        retentionDays: Type.Integer({ default: 365, minimum: 1, maximum: 36500 }),
      },
      { additionalProperties: false, default: {} },
    ),
  },
  { additionalProperties: false },
);

export type Config = Static<typeof ConfigSchema>;

/** Keys whose values never leave the process (config print, logs). */
export const SECRET_KEY = /(password|secret|token|passphrase)/i;
export type ServerRole = Config['server']['role'];
