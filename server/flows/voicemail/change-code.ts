/** Changing the voicemail code by phone: typed twice, the policy checked by the domain. */
import { isVoicegateError } from '../../domain/errors.ts';
import type { Session } from './session.ts';

const ATTEMPTS = 3;

export async function changeCode(s: Session): Promise<void> {
  const { p, deps } = s;
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
      await deps.mailboxes.setCode(s.mailbox.name, first);
    } catch (err) {
      if (!isVoicegateError(err, 'INVALID_INPUT')) throw err;
      await p.say(['code-invalid', ...(await p.count(deps.policy.minCodeLength)), 'digits']);
      continue;
    }
    await p.say(['code-changed']);
    return;
  }
}
