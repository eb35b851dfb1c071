/**
 * The message-waiting state of one mailbox on the wire (RFC 3842): the domain's `lampCounts`
 * (server/domain/waiting.ts) decides which messages are new and which old.
 */
export interface LampState {
  /** waiting messages */
  newCount: number;
  /** heard messages still kept */
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
