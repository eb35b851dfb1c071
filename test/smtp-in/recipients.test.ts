import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveRecipient } from '../../server/smtp-in/recipients.ts';
import { tempContext } from '../helpers/temp-context.ts';

let ctx: Awaited<ReturnType<typeof tempContext>>;
const resolve = (address: string) => resolveRecipient(address, 'Voicegate.local', ctx.mailboxes);

beforeAll(async () => {
  ctx = await tempContext();
  // Names are case-sensitive: these are two mailboxes.
  await ctx.mailboxes.add({ name: 'Bob', extension: '300' }, '1234');
  await ctx.mailboxes.add({ name: 'bob', extension: '301' }, '1234');
  await ctx.mailboxes.add({ name: 'Carol', extension: '302' }, '1234');
});
afterAll(async () => ctx?.cleanup());

describe('which mailbox a recipient address means', () => {
  it('takes a name or extension as written, in a domain of any case', async () => {
    expect(await resolve('Bob@voicegate.local')).toBe('Bob');
    expect(await resolve('bob@VOICEGATE.LOCAL')).toBe('bob');
    expect(await resolve('301@voicegate.local')).toBe('bob');
  });

  it('takes Extn + an extension, the prefix in any case, but not Extn + a name', async () => {
    expect(await resolve('Extn300@voicegate.local')).toBe('Bob');
    expect(await resolve('eXtN302@voicegate.local')).toBe('Carol');
    await expect(resolve('ExtnCarol@voicegate.local')).rejects.toMatchObject({
      code: 'NOT_FOUND',
      message: 'no such mailbox: ExtnCarol@voicegate.local',
    });
  });

  it('takes a name in another case only when exactly one mailbox matches', async () => {
    expect(await resolve('CAROL@voicegate.local')).toBe('Carol');
    await expect(resolve('BOB@voicegate.local')).rejects.toMatchObject({
      code: 'NOT_FOUND',
      message: expect.stringMatching(/only in case/),
    });
  });

  it('refuses other domains, addresses without one, and the sync addresses', async () => {
    for (const address of [
      'Bob@example.com',
      'Bob@voicegate.local.evil',
      'Bob',
      '@voicegate.local',
    ]) {
      await expect(resolve(address)).rejects.toMatchObject({
        code: 'FORBIDDEN',
        message: expect.stringMatching(/does not relay/),
      });
    }
    for (const address of ['vmsyncmaster@voicegate.local', 'VMSYNCSLAVE@voicegate.local']) {
      await expect(resolve(address)).rejects.toMatchObject({
        code: 'FORBIDDEN',
        message: 'server-to-server sync is not enabled on this server',
      });
    }
    await expect(resolve('dave@voicegate.local')).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });
});
