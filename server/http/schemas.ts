import { Type, type Static } from '@sinclair/typebox';

/**
 * The web API's request and response schemas: Fastify validates and serialises with them, the
 * OpenAPI document (/api/openapi.json) is made from them, and the web app's types come from
 * that document.
 */
export const ErrorReply = Type.Object(
  {
    error: Type.String({ description: 'stable error code, e.g. NOT_FOUND' }),
    message: Type.String(),
    field: Type.Optional(
      Type.String({ description: 'the input field refused, when one is (e.g. breakouts.0)' }),
    ),
  },
  { $id: 'Error' },
);

export const MailboxInfo = Type.Object(
  {
    name: Type.String(),
    extension: Type.Union([Type.String(), Type.Null()]),
    fullName: Type.String(),
    kind: Type.Union([Type.Literal('user'), Type.Literal('group')]),
    timeZone: Type.String(),
    locale: Type.String(),
    email: Type.Union([Type.String(), Type.Null()]),
    emailMode: Type.String(),
    activeGreeting: Type.String(),
  },
  { $id: 'Mailbox' },
);

const ListOrder = Type.Union(
  ['newest', 'oldest', 'priority'].map((v) => Type.Literal(v)),
  { description: "the web list's order the owner chose last (the phone keeps its own)" },
);

export const SessionReply = Type.Object(
  { mailbox: Type.Ref(MailboxInfo), csrfToken: Type.String(), listOrder: ListOrder },
  { $id: 'Session' },
);

export const ListOrderSetting = Type.Object(
  { listOrder: ListOrder },
  { additionalProperties: false },
);

export const LoginBody = Type.Object(
  {
    mailbox: Type.String({ minLength: 1, maxLength: 64, description: 'mailbox name or extension' }),
    code: Type.String({ maxLength: 64 }),
  },
  { additionalProperties: false },
);

const Id = Type.String({
  pattern: '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$',
});
export const IdParams = Type.Object({ id: Id });

export const MessageInfo = Type.Object(
  {
    id: Type.String(),
    kind: Type.Union([Type.Literal('message'), Type.Literal('recording')]),
    state: Type.Union(['new', 'unopened', 'old', 'saved', 'deleted'].map((s) => Type.Literal(s))),
    deletedFrom: Type.Union([Type.String(), Type.Null()]),
    callerNumber: Type.Union([Type.String(), Type.Null()]),
    callerName: Type.Union([Type.String(), Type.Null()]),
    caller: Type.String({ description: '"Name (number)", the number, or "Unknown caller"' }),
    receivedAt: Type.String({ format: 'date-time' }),
    receivedLocal: Type.String({ description: 'YYYY-MM-DD HH:mm in the mailbox time zone' }),
    durationMs: Type.Integer(),
    priority: Type.Union([Type.Literal('normal'), Type.Literal('high')]),
    private: Type.Boolean(),
    forwardedFrom: Type.Union([Type.String(), Type.Null()]),
    emailError: Type.Union([Type.String(), Type.Null()], {
      description:
        "Why this message's e-mail was refused for good, as the remote mail server said it (untrusted text); null if it was not",
    }),
  },
  { $id: 'Message' },
);
export type MessageInfo = Static<typeof MessageInfo>;

export const Counts = Type.Object(
  { new: Type.Integer(), old: Type.Integer(), saved: Type.Integer(), deleted: Type.Integer() },
  { $id: 'Counts' },
);

export const MessageList = Type.Object(
  {
    folder: Type.Union([Type.Literal('inbox'), Type.Literal('deleted')]),
    messages: Type.Array(Type.Ref(MessageInfo)),
    counts: Type.Ref(Counts),
    next: Type.Union([Type.String(), Type.Null()], {
      description: "the next page's `cursor`; null on the last page",
    }),
    total: Type.Integer({ description: 'how many messages match, on every page' }),
  },
  { $id: 'MessageList' },
);

const Day = Type.String({ pattern: '^[0-9]{4}-[0-9]{2}-[0-9]{2}$', description: 'YYYY-MM-DD' });

/** A search of a folder; days are local days of the mailbox's time zone, both included. */
const SearchFields = {
  folder: Type.Optional(Type.Union([Type.Literal('inbox'), Type.Literal('deleted')])),
  order: Type.Optional(
    Type.Union(
      ['newest', 'oldest', 'priority'].map((o) => Type.Literal(o)),
      {
        description: 'newest first (default), oldest first, or high priority first',
      },
    ),
  ),
  q: Type.Optional(
    Type.String({ maxLength: 64, description: "part of the caller's name or number" }),
  ),
  from: Type.Optional(Day),
  to: Type.Optional(Day),
  state: Type.Optional(
    Type.Union(
      ['new', 'played', 'saved'].map((s) => Type.Literal(s)),
      {
        description: 'inbox only',
      },
    ),
  ),
  priority: Type.Optional(Type.Union([Type.Literal('normal'), Type.Literal('high')])),
  private: Type.Optional(Type.Boolean()),
};

export const SearchQuery = Type.Object(SearchFields, { additionalProperties: false });

export const ListQuery = Type.Object({
  ...SearchFields,
  cursor: Type.Optional(
    Type.String({ maxLength: 200, description: "a page's `next`: the page after it" }),
  ),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 })),
});

export const ActionBody = Type.Object(
  {
    action: Type.Union(
      ['play', 'markUnread', 'save', 'unsave', 'delete', 'undelete'].map((a) => Type.Literal(a)),
    ),
  },
  { additionalProperties: false },
);

export const BulkBody = Type.Object(
  {
    action: Type.Union(
      ['play', 'markUnread', 'save', 'unsave', 'delete', 'undelete', 'forward'].map((a) =>
        Type.Literal(a),
      ),
    ),
    ids: Type.Optional(Type.Array(Id, { minItems: 1, maxItems: 10_000 })),
    match: Type.Optional(SearchQuery),
    to: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 64,
        description: 'forward: the mailbox name or extension',
      }),
    ),
  },
  {
    additionalProperties: false,
    description: 'the messages `ids`, or every message `match`ing a search; all or none',
  },
);

export const BulkReply = Type.Object({
  count: Type.Integer({ description: 'how many messages the action took' }),
});

export const EmptyReply = Type.Object({ purged: Type.Integer() });

/** A live change: the message as it is now (null when it is gone) and the new counts. */
export const ChangeEvent = Type.Object(
  {
    kind: Type.Union([Type.Literal('added'), Type.Literal('changed'), Type.Literal('removed')]),
    messageId: Type.Union([Type.String(), Type.Null()]),
    state: Type.Union([Type.String(), Type.Null()]),
    message: Type.Union([Type.Ref(MessageInfo), Type.Null()]),
    counts: Type.Ref(Counts),
  },
  { $id: 'ChangeEvent' },
);

export const ForwardBody = Type.Object(
  { to: Type.String({ minLength: 1, maxLength: 64, description: 'mailbox name or extension' }) },
  { additionalProperties: false },
);

export const ForwardEmailBody = Type.Object(
  { to: Type.String({ minLength: 3, maxLength: 254, description: 'e-mail address' }) },
  { additionalProperties: false },
);

export const PlayOnPhoneBody = Type.Object(
  {
    to: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 32,
        pattern: '^[0-9*#+]+$',
        description: "the mailbox's extension (default) or one of its trusted numbers",
      }),
    ),
  },
  { additionalProperties: false },
);

export const PlayOnPhoneReply = Type.Object({ callId: Type.String() });

export const PhoneReachReply = Type.Object({
  reachable: Type.Boolean(),
  number: Type.Union([Type.String(), Type.Null()]),
  reason: Type.Union(
    [
      ...['no-number', 'not-allowed', 'no-phone', 'no-telephony'].map((v) => Type.Literal(v)),
      Type.Null(),
    ],
    {
      description:
        'why it cannot ring: no extension, the dial plan refuses it, no phone registered and no PBX, or no telephony part',
    },
  ),
});

export const ForwardReply = Type.Object({ forwarded: Type.Integer() });

export const Peaks = Type.Object({ peaks: Type.Array(Type.Number({ minimum: 0, maximum: 1 })) });

export const MailboxSearchQuery = Type.Object({ q: Type.Optional(Type.String({ maxLength: 64 })) });
export const MailboxSearchReply = Type.Object({
  mailboxes: Type.Array(
    Type.Object({
      name: Type.String(),
      extension: Type.Union([Type.String(), Type.Null()]),
      fullName: Type.String(),
    }),
  ),
});

export const CodeBody = Type.Object(
  { oldCode: Type.String({ maxLength: 64 }), newCode: Type.String({ maxLength: 64 }) },
  { additionalProperties: false },
);

export const GreetingKindParams = Type.Object({
  kind: Type.Union(['unavailable', 'busy', 'temporary', 'name'].map((k) => Type.Literal(k))),
});

export const GreetingList = Type.Object({
  active: Type.String(),
  greetings: Type.Array(
    Type.Object({
      kind: Type.String(),
      durationMs: Type.Integer(),
      updatedAt: Type.String({ format: 'date-time' }),
    }),
  ),
});

export const ActiveGreetingBody = Type.Object(
  { active: Type.Union(['unavailable', 'busy', 'temporary'].map((k) => Type.Literal(k))) },
  { additionalProperties: false },
);

export const EmailSettings = Type.Object(
  {
    email: Type.Union([Type.String({ maxLength: 254 }), Type.Null()]),
    mode: Type.Union(['off', 'copy', 'forward', 'alert'].map((m) => Type.Literal(m))),
  },
  { additionalProperties: false },
);

export const DisplaySettings = Type.Object(
  {
    locale: Type.String({ maxLength: 16, description: 'e.g. en-US, fr, es-ES' }),
    timeZone: Type.String({ maxLength: 64, description: 'an IANA time zone, e.g. Europe/Paris' }),
  },
  { additionalProperties: false },
);

export const NoContent = Type.Null({ description: 'No content' });

export const SHARED_SCHEMAS = [
  ErrorReply,
  MailboxInfo,
  SessionReply,
  MessageInfo,
  Counts,
  MessageList,
  ChangeEvent,
];
