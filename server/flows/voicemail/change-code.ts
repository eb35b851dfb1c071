/**
 * Changing the voicemail code by phone: the current code first, as on the web (the caller may
 * have been let in by caller ID alone), then the new one typed twice; the domain checks both.
 */
import { isVoicegateError } from '../../domain/errors.ts';
import type { Session } from './session.ts';

const ATTEMPTS = 3;

export async function changeCode(s: Session): Promise<void> {
  const { p, deps } = s;
  const current = await p.readDigits(['enter-current-code']);
  if (current === null || current === '') return;
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    const first = await p.readDigits(['enter-new-code']);
    if (first === null) return;
    const second = await p.readDigits(['reenter-new-code']);
    if (second === null) return;
    if (first !== second) {
      await p.say(['codes-do-not-match']);
      continue;
    }
    try {
      await deps.mailboxes.changeCode(s.mailbox.name, current, first, 'phone', s.call.info.remote);
    } catch (err) {
      // A wrong current code counts in the lockout like any log-in (a locked mailbox sounds the
      // same); the caller hears no more.
      if (isVoicegateError(err, 'AUTH_FAILED')) {
        await p.say(['login-incorrect']);
        return;
      }
      if (!isVoicegateError(err, 'INVALID_INPUT')) throw err;
      await p.say(['code-invalid', ...(await p.count(deps.policy.minCodeLength)), 'digits']);
      continue;
    }
    await p.say(['code-changed']);
    return;
  }
}
