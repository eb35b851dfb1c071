import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { EmailReadingService } from '../../server/domain/email-reading-service.ts';
import { SecretBox } from '../../server/domain/secret-box.ts';
import { collectMessages } from '../../server/flows/voicemail/collect-messages.ts';
import { ExchangeInboxReader, type ReadingConnection } from '../../server/exchange/inbox-reader.ts';
import { MailReader } from '../../server/mailread/email-reader.ts';
import { FakeCall, type Cue } from '../flows/voicemail/fake-call.ts';
import { flowKit, type FlowKit } from '../flows/voicemail/flow-kit.ts';
import { EwsServer } from '../support/ews-server.ts';
import { GraphServer } from '../support/graph-server.ts';

const USER = 'alice@contoso.example';
const HTML =
  '<html><body><p>Hello Alice,</p><p>The <a href="https://intranet.contoso.example/q3">quarterly report</a> is ready.</p>' +
  '<img src="cid:logo"><p>Best regards,<br>Carol</p></body></html>';
const at = (h: number) => new Date(Date.UTC(2026, 10, 30, 8 + h));

/** One protocol's test server, what lands in its Inbox, and what Voicegate left there. */
interface Exchange {
  connection(): ReadingConnection;
  /** Two e-mails (plain, older; HTML with a PDF and an inline logo, newer), a voicemail, one read. */
  fill(): void;
  state(): { subject: string; folder: string; isRead: boolean }[];
  refuse(): void;
  close(): Promise<void>;
}

const graph = async (): Promise<Exchange> => {
  const s = await GraphServer.start({ users: [USER] });
  const secret = s.clientSecret;
  return {
    connection: () => ({ ...s.connection('x'), clientSecret: secret }) as ReadingConnection,
    fill() {
      const from = { name: 'Carol Smith', address: 'carol@contoso.example' };
      s.receive(USER, {
        subject: 'Lunch',
        from,
        body: { contentType: 'text', content: 'Lunch at noon?' },
        receivedAt: at(0),
      });
      s.receive(USER, {
        subject: 'Quarterly report',
        from,
        body: { contentType: 'html', content: HTML },
        receivedAt: at(1),
        attachments: [
          { name: 'q3-report.pdf', contentType: 'application/pdf', bytes: Buffer.from('%PDF') },
          { name: 'logo.png', contentType: 'image/png', bytes: Buffer.from('png'), isInline: true },
        ],
      });
      s.receive(USER, {
        subject: 'Voicemail from 5551234',
        from,
        body: { contentType: 'html', content: '<p>voicemail</p>' },
        receivedAt: at(2),
        messageClass: 'IPM.Note.Microsoft.Voicemail.UM.CA',
      });
      const old = s.receive(USER, {
        subject: 'Old news',
        from,
        body: { contentType: 'text', content: 'Read before.' },
        receivedAt: at(3),
      });
      s.setRead(USER, old.id, true);
    },
    state: () =>
      s.messages(USER).map((m) => ({ subject: m.subject, folder: m.folder, isRead: m.isRead })),
    refuse() {
      s.clientSecret = 'another-secret';
    },
    close: () => s.close(),
  };
};

const ews = async (): Promise<Exchange> => {
  const s = await EwsServer.start([USER]);
  const password = s.password;
  return {
    connection: () => ({ ...s.connection('x'), password }) as ReadingConnection,
    fill() {
      const from = { name: 'Carol Smith', address: 'carol@contoso.example' };
      s.receive(USER, {
        subject: 'Lunch',
        from,
        body: 'Lunch at noon?',
        html: false,
        receivedAt: at(0),
      });
      s.receive(USER, {
        subject: 'Quarterly report',
        from,
        body: HTML,
        html: true,
        receivedAt: at(1),
        attachments: [
          { name: 'q3-report.pdf', contentType: 'application/pdf', bytes: Buffer.from('%PDF') },
          { name: 'logo.png', contentType: 'image/png', bytes: Buffer.from('png'), isInline: true },
        ],
      });
      s.receive(USER, {
        subject: 'Voicemail from 5551234',
        from,
        body: '<p>voicemail</p>',
        html: true,
        receivedAt: at(2),
        itemClass: 'IPM.Note.Microsoft.Voicemail.UM.CA',
      });
      const old = s.receive(USER, {
        subject: 'Old news',
        from,
        body: 'Read before.',
        html: false,
        receivedAt: at(3),
      });
      s.setRead(old.itemId, true);
    },
    state: () =>
      s.items(USER).map((i) => ({ subject: i.subject, folder: i.folder, isRead: i.isRead })),
    refuse() {
      s.password = 'another-password';
    },
    close: () => s.close(),
  };
};

describe.each([
  ['Graph (Exchange Online)', graph],
  ['EWS (Exchange Server)', ews],
])('reading e-mail from Exchange by phone: %s', (_name, start) => {
  let exchange: Exchange;
  let k: FlowKit;
  let logs: string[];
  let reading: EmailReadingService;
  beforeAll(async () => {
    exchange = await start();
  }, 30_000);
  afterAll(async () => {
    await exchange?.close();
  });
  beforeEach(async () => {
    k = await flowKit();
    logs = [];
    const log = (obj: object, msg: string) => logs.push(JSON.stringify({ ...obj, msg }));
    const recording = { info: log, warn: log, error: log, debug() {} };
    k.deps.log = recording;
    const mailbox = await k.mailbox({ timeZone: 'Europe/Paris', locale: 'en-US' });
    await k.ctx.store.setMailboxHome(mailbox.id, {
      home: 'exchange',
      exchangeAddress: USER,
      exchangeConnection: 'x',
    });
    const box = new SecretBox(Buffer.alloc(32, 7));
    reading = new EmailReadingService(
      { store: k.ctx.store, log: recording } as never,
      k.mailboxes,
      () => box,
    );
    await reading.set('201', 'exchange');
    k.deps.emailReader = new MailReader({
      source: (id) => reading.source(id),
      isOn: (id) => reading.isOn(id),
      exchange: new ExchangeInboxReader([exchange.connection()]),
      maxPerCall: 10,
      timeoutMs: 10_000,
      log: recording,
    });
    return () => k.cleanup();
  });

  async function owner(cues: Cue[]): Promise<FakeCall> {
    const call = new FakeCall({ cues });
    await collectMessages(call, k.deps, { mailboxRef: '201', trusted: true, language: 'en' });
    return call;
  }

  it('reads the unread e-mails of the Inbox, newest first, without the voicemail; keys mark read and delete', async () => {
    exchange.fill();
    const call = await owner([
      { keys: '5' },
      { keys: '#' }, // the report, heard to its end: read
      { keys: '3', during: 'email-from' }, // lunch: to Deleted Items
    ]);
    const count = call.played.indexOf('you-have', call.played.indexOf('main-menu-email'));
    expect(call.played.slice(count, count + 3)).toEqual(['you-have', 'two', 'new-emails']);
    const said = call.played.filter((l) => l.startsWith('say:')).map((l) => l.slice(4));
    expect(said).toEqual(
      expect.arrayContaining(['Carol Smith', 'Monday, November 30 at 9:59 AM', 'Quarterly report']),
    );
    const text = said.join(' ');
    // Links by their words, the inline picture unnamed, the file announced; no markup.
    expect(text).toContain('The quarterly report is ready.');
    expect(text).toContain('Attachment: q3-report, PDF document.');
    expect(text).not.toMatch(/logo|<|intranet|voicemail/i);
    expect(call.played).toContain('email-deleted');
    expect(exchange.state()).toEqual(
      expect.arrayContaining([
        { subject: 'Quarterly report', folder: 'inbox', isRead: true },
        { subject: 'Lunch', folder: 'deleteditems', isRead: false },
        { subject: 'Voicemail from 5551234', folder: 'inbox', isRead: false },
      ]),
    );
  }, 30_000);

  it('refused credentials are announced in one sentence and logged once; the call goes on', async () => {
    exchange.refuse();
    for (let i = 0; i < 2; i++) {
      const call = await owner([{ keys: '5' }, { keys: '1' }]);
      expect(call.played.filter((l) => l === 'email-login-failed')).toHaveLength(1);
      expect(call.played).toContain('no-new-messages');
    }
    expect(logs.filter((l) => l.includes('Exchange refused to open the inbox'))).toHaveLength(1);
    const secret = JSON.stringify(exchange.connection());
    for (const value of [/"clientSecret":"([^"]+)"/, /"password":"([^"]+)"/])
      if (value.exec(secret)) expect(logs.join('\n')).not.toContain(value.exec(secret)![1]);
  }, 30_000);
});

describe('reading e-mail from Exchange, the setting', () => {
  it('needs the mailbox at home in Exchange', async () => {
    const k = await flowKit();
    try {
      await k.mailbox({});
      const reading = new EmailReadingService(
        { store: k.ctx.store, log: { info() {}, warn() {} } } as never,
        k.mailboxes,
        () => new SecretBox(Buffer.alloc(32, 7)),
      );
      await expect(reading.set('201', 'exchange')).rejects.toThrow(/--home exchange/);
      expect(await reading.isOn((await k.mailboxes.resolve('201')).id)).toBe(false);
    } finally {
      await k.cleanup();
    }
  });
});
