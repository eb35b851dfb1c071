import { Type, type TSchema } from '@sinclair/typebox';
import { AUDIT_KINDS } from '../domain/audit.ts';
import { WITNESS_VIEWS } from '../domain/partition.ts';

/** The schemas of /api/admin: they validate, document (OpenAPI) and type each route. */
const Nullable = <T extends ReturnType<typeof Type.String>>(t: T) => Type.Union([t, Type.Null()]);

export const AdminInfo = Type.Object(
  {
    id: Type.Integer(),
    name: Type.String(),
    totp: Type.Boolean({ description: 'whether a second factor (TOTP) is enrolled' }),
    lockedUntil: Type.Union([Type.Integer(), Type.Null()]),
    createdAt: Type.Integer(),
  },
  { $id: 'Admin' },
);

export const AdminSessionReply = Type.Object(
  { admin: Type.Ref(AdminInfo), csrfToken: Type.String() },
  { $id: 'AdminSession' },
);

export const AdminLoginBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 64 }),
    password: Type.String({ minLength: 1, maxLength: 200 }),
    totp: Type.Optional(Type.String({ pattern: '^[0-9]{6}$', description: 'the one-time code' })),
  },
  { additionalProperties: false },
);

export const TotpProposal = Type.Object({ secret: Type.String(), uri: Type.String() });
export const TotpBody = Type.Object(
  {
    secret: Type.String({ pattern: '^[A-Z2-7]{16,128}=*$' }),
    code: Type.String({ pattern: '^[0-9]{6}$' }),
  },
  { additionalProperties: false },
);

export const PasswordBody = Type.Object(
  { password: Type.String({ minLength: 10, maxLength: 200 }) },
  { additionalProperties: false },
);
export const NewAdminBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 64 }),
    password: Type.String({ minLength: 10, maxLength: 200 }),
  },
  { additionalProperties: false },
);
export const AdminNameParams = Type.Object({ name: Type.String({ minLength: 1, maxLength: 64 }) });

const BREAKOUT = Type.Object(
  {
    '0': Type.Optional(Type.String({ maxLength: 64 })),
    '2': Type.Optional(Type.String({ maxLength: 64 })),
    '3': Type.Optional(Type.String({ maxLength: 64 })),
  },
  { additionalProperties: false },
);

/** Every setting the CLI's `mailbox add`/`update` takes. */
export const MailboxSettings = {
  extension: Type.Optional(Nullable(Type.String({ pattern: '^[0-9]{1,15}$' }))),
  fullName: Type.Optional(Type.String({ maxLength: 200 })),
  email: Type.Optional(Nullable(Type.String({ maxLength: 254 }))),
  // Voicemail kept in Exchange is the mailbox's home (`home`), no longer an e-mail mode.
  emailMode: Type.Optional(
    Type.Union(['off', 'copy', 'forward', 'alert'].map((m) => Type.Literal(m))),
  ),
  umsAccess: Type.Optional(Type.Boolean()),
  locale: Type.Optional(Type.String({ minLength: 2, maxLength: 35 })),
  timeZone: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
  trustedNumbers: Type.Optional(Type.Array(Type.String({ maxLength: 32 }), { maxItems: 100 })),
  breakouts: Type.Optional(BREAKOUT),
  broadcast: Type.Optional(Type.Boolean()),
  activeGreeting: Type.Optional(
    Type.Union(['unavailable', 'busy', 'temporary'].map((g) => Type.Literal(g))),
  ),
};

export const NewMailboxBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 64 }),
    kind: Type.Optional(Type.Union([Type.Literal('user'), Type.Literal('group')])),
    code: Type.String({ pattern: '^[0-9]{0,32}$', description: 'the first voicemail code' }),
    ...MailboxSettings,
  },
  { additionalProperties: false },
);

export const MailboxChangesBody = Type.Object(
  { name: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })), ...MailboxSettings },
  { additionalProperties: false, minProperties: 1 },
);

export const AdminMailbox = Type.Object(
  {
    id: Type.Integer(),
    kind: Type.String(),
    name: Type.String(),
    extension: Nullable(Type.String()),
    fullName: Type.String(),
    email: Nullable(Type.String()),
    emailMode: Type.String(),
    umsAccess: Type.Boolean(),
    locale: Type.String(),
    timeZone: Type.String(),
    trustedNumbers: Type.Array(Type.String()),
    breakouts: Type.Record(Type.String(), Type.String()),
    broadcast: Type.Boolean(),
    activeGreeting: Type.String(),
    lockedUntil: Type.Union([Type.Integer(), Type.Null()]),
    failedLogins: Type.Integer(),
  },
  { $id: 'AdminMailbox' },
);

export const MailboxPage = Type.Object({
  mailboxes: Type.Array(Type.Ref(AdminMailbox)),
  total: Type.Integer({ description: 'how many match the search in all' }),
});

export const MailboxSearch = Type.Object(
  {
    q: Type.Optional(
      Type.String({ maxLength: 64, description: 'part of a name, extension or full name' }),
    ),
    offset: Type.Integer({ minimum: 0, default: 0 }),
    limit: Type.Integer({ minimum: 1, maximum: 500, default: 50 }),
  },
  { additionalProperties: false },
);

export const MailboxParams = Type.Object({ mailbox: Type.String({ minLength: 1, maxLength: 64 }) });
export const CodeSetBody = Type.Object(
  { code: Type.String({ pattern: '^[0-9]{0,32}$' }) },
  { additionalProperties: false },
);
export const RemoveQuery = Type.Object(
  { confirm: Type.String({ description: "the mailbox's name again, to confirm its removal" }) },
  { additionalProperties: false },
);

export const QueueItem = Type.Object({
  id: Type.Integer(),
  target: Type.String(),
  kind: Type.String(),
  recipient: Type.String(),
  status: Type.String(),
  attempts: Type.Integer(),
  nextAttemptAt: Type.Integer(),
  lastError: Nullable(Type.String()),
});
export const QueueReply = Type.Object({ items: Type.Array(QueueItem) });
export const QueueQuery = Type.Object(
  { target: Type.Optional(Type.String({ maxLength: 32 })) },
  { additionalProperties: false },
);
export const QueueParams = Type.Object({ id: Type.Integer({ minimum: 1 }) });

export const AuditEntry = Type.Object({
  id: Type.Integer(),
  at: Type.Integer(),
  kind: Type.String(),
  channel: Type.String(),
  principal: Nullable(Type.String()),
  mailbox: Nullable(Type.String()),
  client: Nullable(Type.String()),
  outcome: Type.String(),
  reason: Nullable(Type.String()),
  details: Type.Union([Type.Record(Type.String(), Type.Unknown()), Type.Null()]),
});
export const AuditReply = Type.Object({ records: Type.Array(AuditEntry) });
export const AuditSearch = Type.Object(
  {
    mailbox: Type.Optional(Type.String({ maxLength: 64 })),
    kind: Type.Optional(Type.Union(AUDIT_KINDS.map((k) => Type.Literal(k)))),
    since: Type.Optional(Type.Integer({ minimum: 0, description: 'UTC ms, included' })),
    until: Type.Optional(Type.Integer({ minimum: 0, description: 'UTC ms, excluded' })),
    before: Type.Optional(Type.Integer({ minimum: 1, description: 'older than this record id' })),
    limit: Type.Integer({ minimum: 1, maximum: 1000, default: 100 }),
  },
  { additionalProperties: false },
);

export const StatusReply = Type.Object({
  version: Type.String(),
  uptimeSeconds: Type.Number(),
  store: Type.Object({ ok: Type.Boolean(), problem: Nullable(Type.String()) }),
  disk: Type.Union([
    Type.Object({ path: Type.String(), freeBytes: Type.Number(), totalBytes: Type.Number() }),
    Type.Null(),
  ]),
  queue: Type.Object({ pending: Type.Integer(), failed: Type.Integer() }),
  parts: Type.Record(Type.String(), Type.Unknown(), {
    description: 'what the running parts report (listeners and ports, calls, IMAP sessions)',
  }),
});

export const ADMIN_SCHEMAS = [AdminInfo, AdminSessionReply, AdminMailbox];

/** Any schema or null (`Nullable` above takes strings only). */
const OrNull = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);

const TopologyPeer = Type.Object({
  name: Type.String(),
  role: Type.String(),
  smtp: Type.String(),
  smtpLive: Type.Boolean(),
  httpsLive: OrNull(Type.Boolean()),
  problem: OrNull(Type.String()),
  queued: Type.Integer({ description: 'sync mail waiting here for it' }),
  failed: Type.Integer(),
  oldestQueuedAt: OrNull(Type.Integer()),
});
export const TopologyReply = Type.Object({
  self: Type.Object({ name: Type.String(), role: Type.String() }),
  checkedAt: Type.Integer(),
  peers: Type.Array(TopologyPeer),
  failover: Type.Union([
    Type.Object({
      state: Type.String(),
      live: Type.Boolean(),
      missed: Type.Integer(),
      lastBeatAt: OrNull(Type.Integer()),
      changedAt: Type.Integer(),
      liveSince: OrNull(Type.Integer()),
      problem: OrNull(Type.String()),
      queuedThere: OrNull(Type.Integer({ description: 'sync mail waiting at the central for us' })),
      lastMailPingAt: OrNull(Type.Integer({ description: "the central's last mail ping" })),
      mailOnly: Type.Boolean({
        description: 'the central answers by mail only (heartbeat silent, mail pings arriving)',
      }),
      witness: OrNull(
        Type.Object({
          url: Type.String(),
          view: Type.Union(
            WITNESS_VIEWS.map((v) => Type.Literal(v)),
            {
              description: "the witness's view of the central, at the last probe",
            },
          ),
          lamps: Type.Boolean({ description: 'this backup sends lamps now' }),
          email: Type.Boolean({ description: 'this backup sends e-mail now' }),
        }),
      ),
    }),
    Type.Null(),
  ]),
});
export const FailbackReply = Type.Object({ state: Type.String() });
