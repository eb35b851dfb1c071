/** The commented `voicegate.yaml` that `voicegate init` writes. Every key shows its default. */
export function configTemplate(): string {
  return `# Voicegate configuration. Every key is optional; the values shown are the defaults.
# Relative paths are relative to server.dataDir, which is relative to this file.
# Any key can be overridden at start-up: voicegate serve --set http.port=8080

server:
  name: voicegate            # this server's name, recorded on each message it stores and in
                             # each voicemail's Message-ID; distinct for each server of a network
  domain: voicegate.local    # mail domain: the SMTP listener accepts mail only for it
  role: standalone           # standalone | central | backup | distributed
  dataDir: .                 # the store (voicegate.db) and audio/ live here
  locale: en-US              # default language of new mailboxes
  timeZone: UTC              # default time zone of new mailboxes (IANA name)

store:
  backend: sqlite            # the embedded store (voicegate.db and audio/ in server.dataDir), or
                             # postgresql: one database shared by several nodes
  url: ''                    # postgresql only: postgresql://USER:PASSWORD@HOST:5432/DATABASE

tls:                         # certificate for HTTPS, IMAPS and STARTTLS (init makes a self-signed one)
  cert: tls/cert.pem
  key: tls/key.pem

# Listen addresses. 127.0.0.1 serves this machine only; use 0.0.0.0 or :: to serve the network.
http:
  host: 127.0.0.1
  port: 8443
  tls: true                  # HTTPS with the certificate above; false for plain HTTP behind a proxy
  sessionIdleMinutes: 30     # web sessions end after this long unused (and after 12 hours)
  trustProxy: []             # reverse proxies (CIDR) whose X-Forwarded-For names the client
imap:
  host: 127.0.0.1
  port: 143                  # STARTTLS
  tlsPort: 993               # implicit TLS
  allowPlaintextAuth: false  # allow LOGIN before STARTTLS (only for loopback tests)
  quotaMB: 200               # per-mailbox quota shown to mail clients (QUOTA)
sip:                         # phones and PBXs: callers leave messages, owners collect them
  host: 127.0.0.1
  port: 5060                 # UDP, and TCP when tcp is true
  tcp: true
  mediaHost: ''              # address offered for RTP in SDP; empty = sip.host
  rtpPortMin: 40000          # RTP port range, one port per call
  rtpPortMax: 40999
  maxCalls: 150              # more simultaneous calls are refused (486) and counted
  maxCallsPerSource: 10      # simultaneous calls from one address that is not a trusted peer
  trustedPeers: []           # PBX addresses (CIDR) whose caller ID may open a mailbox without its code
  realm: ''                  # digest realm of phones' SIP credentials; empty = server.domain
  digestAlgorithms: [SHA-256, MD5]   # offered to phones, preferred first; [MD5] for phones that fail on SHA-256
  dialPlan: []               # where outgoing calls may go beyond own extensions, e.g. ['9NXXXXXX']
  accessNumbers: ['800']     # dial-in numbers: mailbox and code, then the messages
  registerFrom: [127.0.0.0/8, '::1']   # networks whose phones may register and subscribe to lamps
  flowsFile: flows.yaml      # call flows (voicegate flows check); missing = the built-in flows
  pbx:
    uri: ''                  # e.g. sip:pbx.example.com:5060: outbound calls and lamps go through it
    username: ''
    password: ''
    register: false          # register to the PBX with the credentials above
    registerSeconds: 3600
    unsolicitedMwi: false    # lamps for every mailbox as NOTIFYs to the PBX
limits:                      # every TCP listener (IMAP, SMTP, HTTPS, SIP over TCP)
  perAddress: 50             # simultaneous connections from one client address
  total: 2000                # simultaneous connections in all
  handshakeSeconds: 10       # to finish the TLS handshake
  preAuthSeconds: 180        # from connect to login; sending slowly does not extend it

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

delivery:                    # the queue in front of every delivery target (e-mail today)
  targets:
    smtp:
      timeoutSeconds: 120    # one mail may take this long, then it waits for its next try
      concurrency: 2         # mails under way at once (connections per mail server)
    ews:                     # into Exchange Server over EWS
      timeoutSeconds: 120
      concurrency: 4
    graph:                   # into Exchange Online over Microsoft Graph
      timeoutSeconds: 120
      concurrency: 4
    peer:                    # sync mail to other Voicegate servers (README: Several servers)
      timeoutSeconds: 60
      concurrency: 1         # one at a time keeps the order of recording

exchange:                    # for mailboxes at home in Exchange (mailbox set --home exchange)
  syncSeconds: 5             # how often what users do in Outlook is read back
  connections: []            # for example:
  # - name: online           # Exchange Online: an app with Mail.ReadWrite (application)
  #   kind: graph
  #   tenant: contoso.onmicrosoft.com
  #   clientId: 00000000-0000-0000-0000-000000000000
  #   clientSecret: secret   # or certificate: {privateKeyFile: app.key, thumbprint: HEX}
  #   authority: https://login.microsoftonline.com
  #   endpoint: https://graph.microsoft.com
  #   caFile: ''
  # - name: onprem           # Exchange Server: a service account with ApplicationImpersonation
  #   kind: ews
  #   url: https://mail.contoso.com/EWS/Exchange.asmx
  #   auth: ntlm             # ntlm | basic | oauth (tenant, clientId, clientSecret)
  #   username: CONTOSO\\svc-voicegate
  #   password: secret
  #   impersonation: true    # false: delegate access (FullAccess on each mailbox)
  #   caFile: ''

policy:
  minMessageSeconds: 1       # shorter recordings are discarded
  maxMessageSeconds: 120     # at most 3600
  minCodeLength: 4           # 0 to 15 digits
  lockout:
    failures: 5              # wrong codes in a row, over every channel, before the mailbox locks
    minutes: 15
    perAddressFailures: 20   # wrong codes from one client address (any mailbox) before it is refused

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

backup:                      # scheduled backups, taken by the running server (README: Backups)
  schedule: off              # off | daily | weekly
  at: '03:00'                # HH:MM in server.timeZone
  weekday: sunday            # for weekly backups
  keep: 7                    # each destination keeps the newest this many
  destinations: []           # e.g. - {type: folder, path: /var/backups/voicegate}
                             #      - {type: sftp, host: backup.example.com, username: vg,
                             #         privateKeyFile: backup_key, hostKeyFingerprint: 'SHA256:...',
                             #         path: voicegate}

topology:                    # the other servers of a network (README: Several servers)
  # central: {name: central, smtp: 'central.example.com:25', https: 'https://central.example.com:8443',
  #           secretFile: peers/central.secret, caFile: peers/central-cert.pem}
  distributed: []            # on the central: its distributed servers, each like central above,
                             # with mailboxes: [paris-*] (the ones it takes; none: all)
  syncMessages: false        # backup (to come): messages too, not only settings
  retrySeconds: 30           # a peer that did not answer: every mail to it waits this long
  failover:                  # backup (to come)
    missedBeats: 3
    intervalSeconds: 10
    failback: manual         # manual | graceful | automatic
    timeoutSeconds: 300      # automatic: hand back after this even with calls in progress
    mailPingSeconds: 10      # central: a signed ping mail to the backup this often (0: none);
                             # backup: no failover while they arrive (set the same on both)
    witness: ''              # a URL answering 2xx while it reaches the central: a live
                             # backup then leaves lamps and e-mail to it (README: split brain)

metrics:                     # Prometheus /metrics (README: Monitoring)
  enabled: false
  listen: null               # e.g. {host: 127.0.0.1, port: 9464}: a port of its own, no token
  token: ''                  # without listen: /metrics on http.port with Authorization: Bearer TOKEN

syslog:                      # RFC 5424 to a collector: audit records, warnings and errors
  target: ''                 # udp://host:514 | tcp://host:601 | tls://host:6514; '' = off
  facility: local0
  appName: voicegate
  level: warn                # the least severe level sent (audit records always are)
  caFile: ''                 # tls: the collector's CA (PEM); '' = the system's
  buffer: 1000               # records held while the collector is away (then dropped, counted)

alarms:                      # logged, sent to syslog, in /metrics
  diskFreeMinMB: 1024        # the data folder's disk has less free than this
  queueStuckMinutes: 60      # the oldest pending delivery is older than this
  checkSeconds: 60
  mailTo: ''                 # mail each alarm raised and cleared here (through the queue); '' = none

readEmail:                   # owners hear their new e-mails by phone (mailbox set --read-email)
  keyFile: server.key        # seals e-mail account secrets; made at first use, mode 0600
  maxPerCall: 10             # new e-mails read in one call, newest first
  timeoutSeconds: 5          # a mail server slower than this is announced, and the call goes on

audit:                       # the audit trail: logins, lockouts, changes (README: Administration)
  retentionDays: 365         # older records are removed by housekeeping
`;
}
