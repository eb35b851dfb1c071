/** SMTP AUTH answers a locked mailbox exactly as an unknown one, and refuses its right code. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/test-server.ts';
import { swaks } from './smtp-kit.ts';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer(['smtp.requireAuth=true']);
  await server.context.mailboxes.add({ name: 'shut', extension: '201' }, '2468');
  for (let i = 0; i < 5; i++)
    await server.context.mailboxes
      .authenticate('shut', '1357', { channel: 'web', remote: '192.0.2.1' })
      .catch(() => {});
});
afterAll(async () => server?.stop());

/** The reply to AUTH PLAIN after STARTTLS. */
async function authReply(user: string, code: string): Promise<string> {
  const r = await swaks(server, [
    '--to',
    '201@voicegate.local',
    '-tls',
    '--auth',
    'PLAIN',
    '--auth-user',
    user,
    '--auth-password',
    code,
    '--quit-after',
    'AUTH',
  ]);
  return r.replies.find((l) => /^(235|535|4\d\d) /.test(l)) ?? r.stdout;
}

describe('SMTP AUTH and the lockout', () => {
  it('gives a locked mailbox, even with its right code, the reply an unknown mailbox gets', async () => {
    const locked = await authReply('shut', '2468');
    expect(locked).toMatch(/^535 /);
    expect(await authReply('nobody', '2468')).toBe(locked);
  });
});
