/** The commented `voicegate.yaml` that `voicegate init` writes. Every key shows its default. */
export function configTemplate(): string {
  return `# Voicegate configuration. Every key is optional; the values shown are the defaults.
# Relative paths are relative to server.dataDir, which is relative to this file.
# Any key can be overridden at start-up: voicegate serve --set http.port=8080

server:
  name: voicegate            # this server's name, recorded on each message it stores
  domain: voicegate.local    # mail domain: the SMTP listener accepts mail only for it
  role: standalone           # standalone | central | backup | distributed
  dataDir: .                 # the store (voicegate.db) and audio/ live here
  locale: en-US              # default language of new mailboxes
  timeZone: UTC              # default time zone of new mailboxes (IANA name)

tls:                         # certificate for HTTPS, IMAPS and STARTTLS (init makes a self-signed one)
  cert: tls/cert.pem
  key: tls/key.pem

# Listen addresses. 127.0.0.1 serves this machine only; use 0.0.0.0 or :: to serve the network.
http:
  host: 127.0.0.1
  port: 8443
  tls: true                  # HTTPS with the certificate above; false for plain HTTP behind a proxy
  sessionIdleMinutes: 30     # web sessions end after this long unused (and after 12 hours)
imap:
  host: 127.0.0.1
  port: 143                  # STARTTLS
  tlsPort: 993               # implicit TLS
  allowPlaintextAuth: false  # allow LOGIN before STARTTLS (only for loopback tests)
  quotaMB: 200               # per-mailbox quota shown to mail clients (QUOTA)
sip:
  host: 127.0.0.1
  port: 5060
smtp:                        # incoming voicemail as mail with a WAV, for server.domain only
  host: 127.0.0.1
  port: 25                   # STARTTLS with the certificate above
  maxMessageMB: 25           # larger mail is refused (552); SIZE tells clients beforehand
  allowedPeers: []           # addresses or CIDR ranges that may connect; empty = everyone
  requireAuth: false         # true: AUTH (after STARTTLS) with a mailbox and its code

mail:                        # voicemail e-mail (per-mailbox modes: off, copy, forward, alert)
  from: ''                   # sender address; empty = the mailbox's own address
  webUrl: ''                 # web player address for links in mail; empty = this server's
  retryHours: 48             # a mail the server keeps deferring bounces after this long
  servers: []                # outgoing SMTP servers; the first is the default, later ones
                             # serve the domains they list. For example:
  # - host: smtp.example.com
  #   port: 587
  #   tls: starttls          # implicit | starttls | opportunistic
  #   plaintextFallback: false   # opportunistic only: retry without TLS after a TLS failure
  #   user: voicemail
  #   password: secret
  #   authMethod: PLAIN      # PLAIN | LOGIN | CRAM-MD5
  #   from: voicemail@example.com
  #   domains: []            # e.g. [partner.example] for a later entry
  #   caFile: ''             # PEM to trust for this server's certificate

policy:
  minMessageSeconds: 1       # shorter recordings are discarded
  maxMessageSeconds: 120     # at most 3600
  minCodeLength: 4           # 0 to 15 digits
  lockout:
    failures: 5              # wrong codes in a row, over every channel, before the mailbox locks
    minutes: 15

housekeeping:
  intervalMinutes: 60
  deleteAfterHours:          # per category, hours in that state before deletion; 0 = never
    new: 0
    unopened: 0
    old: 720
    saved: 0
  purgeDeletedAfterHours: 168   # deleted messages are purged after this; 0 = never
  playbackOrder: fifo        # fifo (oldest first) | lifo

log:
  level: info                # fatal | error | warn | info | debug | trace | silent
`;
}
