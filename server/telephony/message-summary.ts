/** The message-waiting state of one mailbox as a lamp sees it (RFC 3842). */
export interface LampState {
  /** new and unopened messages */
  newCount: number;
  /** old and saved messages */
  oldCount: number;
}

/** The application/simple-message-summary body of a NOTIFY. */
export function messageSummary(account: string, state: LampState): string {
  return (
    `Messages-Waiting: ${state.newCount > 0 ? 'yes' : 'no'}\r\n` +
    `Message-Account: ${account}\r\n` +
    `Voice-Message: ${state.newCount}/${state.oldCount}\r\n`
  );
}

export const MESSAGE_SUMMARY = 'application/simple-message-summary';
