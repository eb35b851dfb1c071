/**
 * The lockout over real IMAPS connections: concurrent LOGINs cannot check more codes than the
 * lockout allows, and a locked mailbox answers exactly as an unknown one, to LOGIN and to
 * AUTHENTICATE PLAIN.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { imapLogin, startLoggedServer, type LoggedServer } from '../helpers/lockout-kit.ts';
import { RawImap } from './imapflow-raw.ts';

const CODE = '2468';
const WRONG = '1357';

let server: LoggedServer;
beforeAll(async () => {
  server = await startLoggedServer([
    'policy.lockout.failures=5',
    // 150 log-ins at once from one address: the lockout is measured, not the connection limit.
    'limits.perAddress=1000',
  ]);
  for (const name of ['race', 'shut', 'open']) await server.context.mailboxes.add({ name }, CODE);
});
afterAll(async () => server?.stop());

describe('IMAP log-ins and the lockout', () => {
  it('150 concurrent LOGINs check at most 5 codes, and the right code sent among them is refused', async () => {
    const wrong = Promise.all(
      Array.from({ length: 149 }, () => imapLogin(server.ports.imaps, 'race', WRONG, '127.0.5.1')),
    );
    const locked = (async () => {
      while (!(await server.context.store.findMailbox('race'))!.lockedUntil)
        await new Promise((r) => setTimeout(r, 5));
    })();
    await Promise.race([locked, wrong]);
    const right = await imapLogin(server.ports.imaps, 'race', CODE, '127.0.5.2');
    const answers = await wrong;

    expect(answers.filter((a) => !a.startsWith('NO [AUTHENTICATIONFAILED] '))).toEqual([]);
    expect(right).toBe(answers[0]);
    expect(server.count('login failed: wrong code', 'race')).toBeLessThanOrEqual(5);
  });

  it('answers a locked mailbox exactly as an unknown one, to LOGIN and AUTHENTICATE PLAIN', async () => {
    for (let i = 0; i < 5; i++) await imapLogin(server.ports.imaps, 'shut', WRONG, '127.0.6.1');
    const raw = await RawImap.connect(server.ports.imaps);
    try {
      const plain = (user: string): string =>
        `AUTHENTICATE PLAIN ${Buffer.from(`\0${user}\0${CODE}`).toString('base64')}`;
      const locked = await raw.command(`LOGIN shut ${CODE}`);
      const unknown = await raw.command(`LOGIN nobody ${CODE}`);
      const wrong = await raw.command(`LOGIN open ${WRONG}`);
      expect(locked.status).toBe('NO');
      expect(locked.code).toBe('AUTHENTICATIONFAILED');
      expect(unknown.text).toBe(locked.text);
      expect(wrong.text).toBe(locked.text);
      const lockedPlain = await raw.command(plain('shut'));
      expect(lockedPlain.status).toBe('NO');
      expect((await raw.command(plain('nobody'))).text).toBe(lockedPlain.text);
      // The right code still opens a mailbox that is not locked.
      expect((await raw.command(`LOGIN open ${CODE}`)).status).toBe('OK');
    } finally {
      raw.close();
    }
  });
});
