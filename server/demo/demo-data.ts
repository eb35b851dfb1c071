import type { Context } from '../context.ts';
import { toneWav } from '../media/tone.ts';
import type { MessageAction } from '../domain/message-state.ts';
import { hasCommand } from '../tools.ts';
import { speak } from './speech.ts';

interface DemoMailbox {
  name: string;
  extension: string;
  code: string;
  fullName: string;
  timeZone: string;
  locale: string;
  voice: string;
  email?: string;
  /** The softphone's SIP password (user name: the extension). */
  sipPassword: string;
}

export const DEMO_MAILBOXES: DemoMailbox[] = [
  {
    name: 'alice',
    extension: '201',
    sipPassword: 'phone-alice-201',
    code: '2011',
    fullName: 'Alice Martin',
    timeZone: 'Europe/Paris',
    locale: 'en-US',
    voice: 'en-us',
    email: 'alice@voicegate.local',
  },
  {
    name: 'bob',
    extension: '202',
    sipPassword: 'phone-bob-202',
    code: '2022',
    fullName: 'Bob Chen',
    timeZone: 'America/New_York',
    locale: 'en-US',
    voice: 'en-us',
  },
  {
    name: 'carmen',
    extension: '203',
    sipPassword: 'phone-carmen-203',
    code: '2033',
    fullName: 'Carmen Ruiz',
    timeZone: 'America/Mexico_City',
    locale: 'es-MX',
    voice: 'es',
  },
];
export const DEMO_GROUP = {
  name: 'support',
  extension: '300',
  code: '3000',
  fullName: 'Support line',
  members: ['alice', 'bob'],
};

interface DemoMessage {
  to: string;
  from: string;
  name: string;
  hoursAgo: number;
  text: string;
  then?: MessageAction[];
  priority?: boolean;
  private?: boolean;
}

const MESSAGES: DemoMessage[] = [
  {
    to: 'alice',
    from: '+33142685300',
    name: 'Dana Leroy',
    hoursAgo: 1,
    text: "Hello Alice, this is Dana from Doctor Moreau's office. I am calling to confirm your appointment tomorrow at ten in the morning. If you need to move it, call us back on zero one, four two, six eight, five three, zero zero. Thank you.",
  },
  {
    to: 'alice',
    from: '202',
    name: 'Bob Chen',
    hoursAgo: 5,
    priority: true,
    text: 'Alice, it is Bob. The customer demo moved to two o clock today. Can you bring the new price list? Call me back as soon as you can.',
  },
  {
    to: 'alice',
    from: '+14155550134',
    name: 'Parcel Service',
    hoursAgo: 30,
    then: ['play'],
    text: 'This is an automated message from the parcel service. Your package could not be delivered today. We will try again tomorrow between nine and twelve.',
  },
  {
    to: 'alice',
    from: '203',
    name: 'Carmen Ruiz',
    hoursAgo: 50,
    then: ['play', 'save'],
    private: true,
    text: 'Hi Alice, Carmen here. The door code for the new office is four seven one nine. Please keep it to yourself.',
  },
  {
    to: 'bob',
    from: '201',
    name: 'Alice Martin',
    hoursAgo: 2,
    text: 'Hi Bob, Alice here. I have the price list ready. See you at two. Bye.',
  },
  {
    to: 'bob',
    from: '+12125550187',
    name: '',
    hoursAgo: 26,
    then: ['play', 'delete'],
    text: 'Hello, this is a courtesy call about your car warranty. Press one to speak to an agent.',
  },
  {
    to: 'carmen',
    from: '+525555550100',
    name: 'Luis Garcia',
    hoursAgo: 3,
    text: 'Hola Carmen, soy Luis. La reunion de mañana empieza a las nueve. Nos vemos en la oficina.',
  },
  {
    to: 'support',
    from: '+441632960961',
    name: 'Northwind Ltd',
    hoursAgo: 4,
    text: 'Hello support, this is Northwind. Our voicemail lamp stays on after we listen to our messages. Please call us back on the main number.',
  },
];

function log(line: string): void {
  process.stdout.write(line + '\n');
}

/** Adds the demo mailboxes and their messages where missing; run again, it changes nothing. */
export async function seedDemo(ctx: Context): Promise<{ speech: boolean }> {
  const speech = hasCommand('espeak-ng');
  if (!speech)
    log(
      'espeak-ng is not installed: demo messages are tones instead of speech (apt-get install espeak-ng).',
    );
  const voices = new Map(DEMO_MAILBOXES.map((m) => [m.name, m.voice]));
  for (const m of DEMO_MAILBOXES) {
    if (await ctx.store.findMailbox(m.name)) continue;
    await ctx.mailboxes.add(
      {
        name: m.name,
        extension: m.extension,
        fullName: m.fullName,
        timeZone: m.timeZone,
        locale: m.locale,
        email: m.email ?? null,
      },
      m.code,
    );
  }
  // Phones register with digest: credentials for the realm in use (set again if it changed).
  const realm = ctx.loaded.config.sip.realm || ctx.loaded.config.server.domain;
  for (const m of DEMO_MAILBOXES) {
    const stored = await ctx.store.findMailbox(m.name);
    if (stored?.extension === m.extension && stored.sip?.realm !== realm)
      await ctx.mailboxes.setSipPassword(m.name, m.sipPassword, realm);
  }
  if (!(await ctx.store.findMailbox(DEMO_GROUP.name))) {
    // Broadcast off: a support line keeps its messages in the group for whoever picks them up.
    await ctx.mailboxes.add(
      {
        kind: 'group',
        name: DEMO_GROUP.name,
        extension: DEMO_GROUP.extension,
        fullName: DEMO_GROUP.fullName,
        broadcast: false,
      },
      DEMO_GROUP.code,
    );
    await ctx.mailboxes.setGroupMembers(DEMO_GROUP.name, DEMO_GROUP.members);
  }
  const now = Date.now();
  for (const [i, msg] of MESSAGES.entries()) {
    const box = await ctx.mailboxes.resolve(msg.to);
    const existing = await ctx.store.listMessages(box.id);
    if (existing.some((e) => e.callerNumber === msg.from)) continue;
    const audio = speech
      ? speak(msg.text, voices.get(msg.to) ?? 'en-us')
      : toneWav({ seconds: 3 + i, frequency: 350 + 60 * i });
    const [stored] = await ctx.messages.deposit({
      mailbox: msg.to,
      audio,
      callerNumber: msg.from,
      callerName: msg.name,
      receivedAt: now - msg.hoursAgo * 3_600_000,
      priority: msg.priority ? 'high' : 'normal',
      private: msg.private,
    });
    for (const action of msg.then ?? [])
      await ctx.messages.act(stored!.mailboxId, stored!.id, action);
  }
  return { speech };
}
