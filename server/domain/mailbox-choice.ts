/**
 * Which mailboxes a distributed server takes from its central (`topology.distributed[].
 * mailboxes` on the central): each entry a mailbox name, or a pattern where `*` stands for any
 * run of characters (`paris-*`). None: every mailbox. Replication sends such a server only the
 * chosen mailboxes (a hunt group's members among them), their greetings and call flows; a
 * mailbox that leaves the choice is removed there as a removed one is.
 */
export function mailboxChoice(entries: readonly string[]): (mailbox: string) => boolean {
  if (entries.length === 0) return () => true;
  const names = new Set(entries.filter((e) => !e.includes('*')).map((e) => e.toLowerCase()));
  const patterns = entries
    .filter((e) => e.includes('*'))
    .map(
      (e) =>
        new RegExp(
          `^${e
            .split('*')
            .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
            .join('.*')}$`,
          'i',
        ),
    );
  return (mailbox) => names.has(mailbox.toLowerCase()) || patterns.some((p) => p.test(mailbox));
}
