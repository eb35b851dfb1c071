/**
 * The lockout over real HTTPS connections: concurrent log-ins cannot check more codes than the
 * lockout allows, one address is refused after its wrong codes over several mailboxes and
 * channels, and a locked mailbox answers exactly as an unknown one.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  imapLogin,
  startLoggedServer,
  webLogin,
  type LoggedServer,
} from '../helpers/lockout-kit.ts';

const CODE = '2468';
const WRONG = '1357';
const WRONG_CODE_CHECKED = 'login failed: wrong code';

let server: LoggedServer;
beforeAll(async () => {
  server = await startLoggedServer([
    'policy.lockout.failures=5',
    'policy.lockout.perAddressFailures=20',
    // 150 log-ins at once from one address: the lockout is measured, not the connection limit.
    'limits.perAddress=1000',
  ]);
  for (const name of ['race', 'spray1', 'spray2', 'spray3', 'spray4', 'spray5', 'quiet'])
    await server.context.mailboxes.add({ name }, CODE);
});
afterAll(async () => server?.stop());

const lockedOnRecord = async (name: string): Promise<void> => {
  while (!(await server.context.store.findMailbox(name))!.lockedUntil)
    await new Promise((r) => setTimeout(r, 5));
};

describe('web log-ins and the lockout', () => {
  it('150 concurrent log-ins check at most 5 codes, and the right code sent among them is refused', async () => {
    const started = Date.now();
    const wrong = Array.from({ length: 149 }, () =>
      webLogin(server.ports.http, 'race', WRONG, '127.0.1.1'),
    );
    const allWrong = Promise.all(wrong);
    // The right code goes in once the lock is on record, or (before it was atomic) once every
    // wrong code had been answered.
    await Promise.race([lockedOnRecord('race'), allWrong]);
    const right = await webLogin(server.ports.http, 'race', CODE, '127.0.2.1');
    const answers = await allWrong;

    expect(answers.filter((a) => a.status === 200)).toEqual([]);
    expect(right.status).toBe(401);
    expect(server.count(WRONG_CODE_CHECKED, 'race')).toBeLessThanOrEqual(5);
    // Still locked from an address that never tried.
    expect((await webLogin(server.ports.http, 'race', CODE, '127.0.2.2')).status).toBe(401);
    expect(Date.now() - started).toBeLessThan(20_000);
  });

  it('refuses an address after 20 wrong codes over several mailboxes, IMAP and the web, even the right code', async () => {
    const from = '127.0.3.1';
    for (let i = 0; i < 20; i++) {
      const mailbox = `spray${1 + (i % 5)}`; // 4 on each, below its own lockout
      if (i % 2) expect((await webLogin(server.ports.http, mailbox, WRONG, from)).status).toBe(401);
      else expect(await imapLogin(server.ports.imaps, mailbox, WRONG, from)).toMatch(/^NO /);
    }
    const checked = server.count(WRONG_CODE_CHECKED);
    expect((await webLogin(server.ports.http, 'quiet', CODE, from)).status).toBe(401);
    expect(await imapLogin(server.ports.imaps, 'quiet', CODE, from)).toMatch(/^NO /);
    expect(server.count(WRONG_CODE_CHECKED), 'codes checked once the address was refused').toBe(
      checked,
    );
    // The mailboxes are not locked: another address logs in to each.
    for (const mailbox of ['spray1', 'spray2', 'spray3', 'spray4', 'spray5', 'quiet'])
      expect((await webLogin(server.ports.http, mailbox, CODE, '127.0.3.2')).status).toBe(200);
  });

  it('answers a locked mailbox exactly as an unknown one: status and body', async () => {
    const from = '127.0.4.1';
    for (let i = 0; i < 5; i++) await webLogin(server.ports.http, 'quiet', WRONG, from);
    const locked = await webLogin(server.ports.http, 'quiet', CODE, '127.0.4.2');
    const unknown = await webLogin(server.ports.http, 'nobody', CODE, '127.0.4.3');
    const wrong = await webLogin(server.ports.http, 'spray1', WRONG, '127.0.4.4');
    expect(locked).toEqual(unknown);
    expect(wrong).toEqual(unknown);
    expect(unknown.status).toBe(401);
    expect(unknown.body).toMatchObject({ error: 'AUTH_FAILED' });
  });
});
