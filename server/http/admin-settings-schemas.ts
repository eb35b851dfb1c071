import { Type } from '@sinclair/typebox';
import { AdminMailbox, MailboxSettings, StatusReply } from './admin-schemas.ts';

/**
 * The schemas of the admin area's later pages: a mailbox's every setting (home, phone, e-mail
 * reading, members, greetings), call flows and the status page. Secrets are write-only: no
 * reply schema has a field that could carry one.
 */
const Nullable = <T extends ReturnType<typeof Type.String>>(t: T) => Type.Union([t, Type.Null()]);

/** What `voicegate mailbox set` changes beyond the mailbox's own fields. */
export const MailboxSettingsBody = Type.Object(
  {
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    ...MailboxSettings,
    home: Type.Optional(Type.Union([Type.Literal('local'), Type.Literal('exchange')])),
    exchangeAddress: Type.Optional(Type.String({ maxLength: 254 })),
    exchangeConnection: Type.Optional(Type.String({ maxLength: 64 })),
    sipPassword: Type.Optional(
      Type.Union([Type.String({ minLength: 12, maxLength: 128 }), Type.Null()], {
        description: "the phone's SIP password (write-only); null removes it",
      }),
    ),
    readEmail: Type.Optional(
      Type.String({
        maxLength: 300,
        description: 'off, or imap://user@host:993 (?tls=none, ?auth=oauth)',
      }),
    ),
    readEmailSecret: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 4096,
        description: "the IMAP account's password or OAuth token (write-only, never shown)",
      }),
    ),
  },
  { additionalProperties: false, minProperties: 1 },
);

export const MailboxDetails = Type.Object(
  {
    mailbox: Type.Ref(AdminMailbox),
    home: Type.Object({
      home: Type.String(),
      exchangeAddress: Nullable(Type.String()),
      exchangeConnection: Nullable(Type.String()),
    }),
    readEmail: Type.Object({
      source: Type.String(),
      imap: Type.Union([
        Type.Object({
          host: Type.String(),
          port: Type.Integer(),
          tls: Type.String(),
          user: Type.String(),
          auth: Type.String(),
        }),
        Type.Null(),
      ]),
      secret: Nullable(Type.String({ description: '"********" when one is kept' })),
    }),
    sip: Type.Union([
      Type.Object({ user: Nullable(Type.String()), realm: Type.String() }),
      Type.Null(),
    ]),
    members: Type.Union([Type.Array(Type.String()), Type.Null()]),
  },
  { $id: 'AdminMailboxDetails' },
);

export const MembersBody = Type.Object(
  {
    members: Type.Array(Type.String({ minLength: 1, maxLength: 64 }), {
      maxItems: 1000,
      description: 'every member, by name or extension (none empties the group)',
    }),
  },
  { additionalProperties: false },
);
export const MembersReply = Type.Object({
  members: Type.Array(
    Type.Object({
      name: Type.String(),
      extension: Nullable(Type.String()),
      fullName: Type.String(),
    }),
  ),
});

export const AdminGreetingParams = Type.Object({
  mailbox: Type.String({ minLength: 1, maxLength: 64 }),
  kind: Type.Union(['unavailable', 'busy', 'temporary', 'name'].map((k) => Type.Literal(k))),
});

export const FlowsCheckBody = Type.Object(
  {
    text: Type.Optional(
      Type.String({
        maxLength: 1_000_000,
        description: 'a flows file to check; absent: the file in use',
      }),
    ),
  },
  { additionalProperties: false },
);

export const FlowsCheck = Type.Object({
  ok: Type.Boolean(),
  errors: Type.Array(Type.String({ description: 'each with the path it is about' })),
  flows: Type.Array(
    Type.Object({
      name: Type.String(),
      builtin: Type.Boolean(),
      numbers: Type.Array(Type.String()),
      steps: Type.Integer(),
    }),
  ),
});

export const FlowsReply = Type.Object({
  file: Type.String(),
  exists: Type.Boolean(),
  inUse: Type.Boolean({ description: 'whether this process answers calls with them' }),
  loadedAt: Type.Union([Type.Integer(), Type.Null()], {
    description: 'when the flows in use were read (UTC ms); null: built-in flows only',
  }),
  /** The file as it is now, checked (a file that fails keeps the previous flows in use). */
  check: FlowsCheck,
});

const Listener = Type.Object({
  name: Type.String(),
  port: Type.Union([Type.Integer(), Type.Null()]),
  active: Type.Integer(),
  refused: Type.Integer(),
});

export const SystemStatus = Type.Object({
  listeners: Type.Array(Listener),
  calls: Type.Union([Type.Object({ active: Type.Integer(), total: Type.Integer() }), Type.Null()]),
  imapSessions: Type.Union([Type.Integer(), Type.Null()]),
  pbx: Type.Union([
    Type.Object({
      registrar: Type.String(),
      state: Type.String({ description: 'registering, registered, failed' }),
      detail: Nullable(Type.String()),
      since: Type.Union([Type.Integer(), Type.Null()]),
    }),
    Type.Null(),
  ]),
  storeBytes: Type.Union([Type.Number(), Type.Null()]),
  exchange: Type.Array(
    Type.Object({
      name: Type.String(),
      kind: Type.String(),
      lastSuccessAt: Type.Union([Type.Integer(), Type.Null()]),
      lastFailureAt: Type.Union([Type.Integer(), Type.Null()]),
      lastError: Nullable(Type.String()),
    }),
  ),
  topology: Type.Union([Type.Record(Type.String(), Type.Unknown()), Type.Null()], {
    description: 'filled in by the topology status (several servers); null when standalone',
  }),
});

/** The status page: the first figures and what the running parts report, each by name. */
export const FullStatusReply = Type.Composite([StatusReply, SystemStatus]);

export const ADMIN_SETTINGS_SCHEMAS = [MailboxDetails];
