/**
 * The IMAP benchmark's notes: how each figure was measured, and what else the run saw.
 */
import { fixed } from './bench-kit.ts';
import { blockNotes } from './imap-blocks.ts';
import { percent, type Results, type SessionRun } from './imap-results.ts';

/** Where a Node server's CPU went: its one JavaScript thread, the libuv pool, hashing, the rest. */
function threadNote(run: SessionRun): string[] {
  const t = run.threadCpuMs;
  if (!t) return [];
  const per = (ms: number): string => fixed(ms / run.sessions);
  return [
    `Voicegate’s CPU per session by thread: main thread (all JavaScript, the event loop) ` +
      `${per(t.main)} ms, busy ${percent(t.main / (run.seconds * 1000))} of the wall time; ` +
      `libuv pool (file reads) ${per(t.pool)} ms; code-hashing process (scrypt, nice 19) ` +
      `${per(t.hashing ?? 0)} ms; other threads (V8 GC, compiler) ` +
      `${per(t.other)} ms.`,
  ];
}

export function notes(r: Results): string[] {
  const h = r.hashes;
  const s = r.sessions;
  return [
    `Dovecot ${r.dovecot.version} (Debian's dovecot-imapd)` +
      (r.dovecot.actions.length
        ? `; the benchmark ${r.dovecot.actions.join(' and ')}`
        : '; already installed') +
      '. Own instance on 127.0.0.1 in a temp folder, config of shared/notes/perf-reliability.md: ' +
      'high-performance login (service_count = 0, process_min_avail = 2), Maildir, ' +
      'imap_hibernate_timeout = 5s, limits raised (imap process_limit 11000, imap-login and ' +
      'imap-hibernate client_limit 6000, mail_max_userip_connections 100000).',
    `Password hashes, same verify cost on both sides: sessions: Voicegate scrypt N=${h.sessions.scrypt.N},r=${h.sessions.scrypt.r},p=${h.sessions.scrypt.p} ` +
      `${fixed(h.sessions.scryptMs)} ms per verify, Dovecot {SHA512-CRYPT} rounds=${h.sessions.rounds} ` +
      `${fixed(h.sessions.verifyMs)} ms (libxcrypt, timed through perl). IDLE phase (login cost is ` +
      `phase 1's subject; this one measures memory and push): scrypt N=${h.idle.scrypt.N} ` +
      `${fixed(h.idle.scryptMs)} ms vs SHA512-CRYPT rounds=${h.idle.rounds} ${fixed(h.idle.verifyMs)} ms.`,
    `Mail: ${r.bounds.clients} mailboxes with ${r.messagesPerMailbox} one-minute voicemails each ` +
      `(toneWav 60 s, ${r.wavBytes} bytes of WAV, ${r.messageBytes} bytes as MIME), deposited through ` +
      'createContext before the server started, exported from Voicegate over IMAP (FETCH BODY.PEEK[] ' +
      'with FLAGS and INTERNALDATE) into Maildir files for Dovecot ' +
      `(${(r.exportedBytes / 1e6).toFixed(0)} MB in all).`,
    `Phase 1: ${r.bounds.clients} concurrent clients, each looping sessions of LOGIN, SELECT INBOX, ` +
      'FETCH 1:* (FLAGS ENVELOPE BODYSTRUCTURE), FETCH 1 BODY[], LOGOUT on its own mailbox, one ' +
      'new connection per session. One untimed warm-up session per mailbox and server (indexes, ' +
      'renditions, \\Seen set), then the servers alternate in two halves of ' +
      `${r.bounds.seconds} s or ${Math.ceil(r.bounds.maxOps / 2)} sessions each (A-B-A-B), latencies pooled.`,
    'MB/s counts every byte received from the server (MB = 10^6). p50/p99 per command from its ' +
      'write to its tagged reply; connect = TCP connect to greeting. Server CPU from /proc ' +
      '(Dovecot: all its processes, including the per-session imap processes that exited). ' +
      'The CPU column is each party’s share of both cores over the run; "other work" is whatever ' +
      'else the machine ran meanwhile (/proc/stat busy time less the server’s and the generator’s): ' +
      'other work on a shared machine slows both servers alike.',
    ...threadNote(s.voicegate),
    ...blockNotes(s),
    ...(s.dovecot.authCpuMs !== undefined
      ? [
          `Dovecot’s auth service (it verifies the passwords) used ` +
            `${fixed(s.dovecot.authCpuMs / s.dovecot.sessions)} ms per session, ` +
            `${percent(s.dovecot.authCpuMs / (s.dovecot.seconds * 1000))} of one core.`,
        ]
      : []),
    'Load generator: a raw-socket client (test/bench/imap-client.ts) in a process of its own, ' +
      'sockets spread over 127.0.0.2-9; imapflow parses every response and would cost the ' +
      'generator more CPU than the servers.',
    `Phase 2: IDLE sessions (LOGIN, SELECT INBOX, IDLE) spread round robin over ` +
      `${r.idle.voicegate.mailboxes} empty mailboxes, opened ${r.bounds.idleBatch} at a time, each ` +
      'server on its own (Voicegate stopped before Dovecot’s turn). Memory read from /proc when ' +
      'all are idle (Voicegate: after its code-hashing process ended, 30 s after the last log-in; ' +
      'Dovecot: after its imap processes hibernated), summed over all processes of ' +
      'the server; PSS shares pages mapped by several processes among them. Then deposits one at ' +
      'a time, each into another mailbox spread over the list, each waking that mailbox’s ' +
      'sessions; EXISTS p50/p99 pool every session of every deposit. Deposits are 100-250 ms ' +
      'apart at random, so they fall at random points of Voicegate’s 100 ms change-feed poll. ' +
      '"missed": sessions that saw ' +
      'no EXISTS within the timeout; "lost": sessions the server disconnected.',
    'Deposit to EXISTS: Voicegate: a separate, already started process does what `voicegate ' +
      'deposit` does (createContext, MessageService.deposit); "from the commit" counts from when ' +
      'deposit() returned, "from start" from just before it began writing. Dovecot: `doveadm save` ' +
      'spawned by the benchmark ("from start" includes starting doveadm); its commit is when the ' +
      'file appeared in the Maildir (inotify). Clocks: performance.timeOrigin + now() in each process.',
    `Voicegate’s RSS after phase 1 was ${fixed(r.voicegateAfterSessions.rssMiB)} MiB and does not ` +
      'come back down when the sessions end; phase 2 runs on a freshly started Voicegate, so ' +
      '"RSS MiB before" is a server that has just started.',
    ...(r.voicegateAllocator ? [`Voicegate’s allocator: ${r.voicegateAllocator}.`] : []),
    ...(r.voicegateNodeArgs.length
      ? [`Voicegate ran with extra node flags: ${r.voicegateNodeArgs.join(' ')}.`]
      : []),
    ...r.inotify.map((l) => `inotify: ${l}.`),
    ...(r.idle.voicegate.open < r.bounds.idleTarget
      ? [`Voicegate reached ${r.idle.voicegate.open} IDLE sessions: ${r.idle.voicegate.stoppedBy}.`]
      : []),
    ...(r.idle.dovecot.open < r.bounds.idleTarget
      ? [`Dovecot reached ${r.idle.dovecot.open} IDLE sessions: ${r.idle.dovecot.stoppedBy}.`]
      : []),
    ...(s.voicegate.failed || s.dovecot.failed
      ? [
          `Failed sessions: Voicegate ${s.voicegate.failed} (${s.voicegate.firstError ?? ''}), ` +
            `Dovecot ${s.dovecot.failed} (${s.dovecot.firstError ?? ''}).`,
        ]
      : []),
    ...(r.dovecot.problems.length
      ? [
          `Dovecot logged ${r.dovecot.problems.length} errors or warnings, e.g.: ` +
            r.dovecot.problems.slice(0, 3).join(' / '),
        ]
      : []),
  ];
}
