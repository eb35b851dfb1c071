/**
 * NTLM for EWS: Exchange Server's Windows authentication, as IIS offers it (`WWW-Authenticate:
 * NTLM`). The three messages of MS-NLMP (NEGOTIATE, CHALLENGE, AUTHENTICATE; 3.1.5.1.1 and
 * 3.1.5.1.2) are built by @ewsjs/ntlm-client, the maintained fork ews-javascript-api uses, which
 * answers with NTLMv2 when the challenge offers extended session security (as Windows servers
 * do). NTLM authenticates a connection, not a request, so the legs of one handshake go over one
 * socket (an agent of one socket), and each request makes its own handshake: no connection is
 * left holding an identity.
 */
import { hostname } from 'node:os';
import ntlm from '@ewsjs/ntlm-client';
import {
  connectionAgent,
  sendThrough,
  type HttpRequest,
  type HttpResponse,
} from './https-client.ts';

/**
 * The account as NTLM names it: `DOMAIN\user` gives both; a UPN (`user@contoso.com`) is the
 * user with an empty domain (MS-NLMP 3.1.5.1.2); a bare name takes the server's domain.
 */
export function ntlmAccount(username: string): { user: string; domain: string | undefined } {
  const slash = username.indexOf('\\');
  if (slash > 0) return { domain: username.slice(0, slash), user: username.slice(slash + 1) };
  if (username.includes('@')) return { user: username, domain: '' };
  return { user: username, domain: undefined };
}

/** The NTLM challenge of a 401's WWW-Authenticate (one header, or several joined by ", "). */
function challengeOf(res: HttpResponse): string | null {
  const header = res.headers['www-authenticate'] ?? '';
  return /(?:^|,\s*)NTLM ([A-Za-z0-9+/=]+)/.exec(header)?.[1] ?? null;
}

/**
 * A client that sends each request after an NTLM handshake as `username` (and `password`),
 * trusting `ca`. Answers as node's client does (every status); a 401 after the handshake is the
 * server refusing the credentials; a 401 without an NTLM challenge is a server that does not
 * offer NTLM (`offered` says what it does offer).
 */
export function ntlmClient(
  account: { username: string; password: string },
  ca: Buffer | undefined,
): (req: HttpRequest) => Promise<HttpResponse & { offered?: string }> {
  const { user, domain } = ntlmAccount(account.username);
  const workstation = hostname().split('.')[0]!.toUpperCase();
  return async (req) => {
    const agent = connectionAgent(ca, 1);
    try {
      const negotiate = await sendThrough(agent, {
        ...req,
        headers: { ...req.headers, authorization: ntlm.createType1Message(workstation, domain) },
        body: Buffer.alloc(0),
      });
      const challenge = negotiate.status === 401 ? challengeOf(negotiate) : null;
      if (!challenge)
        return negotiate.status === 401
          ? { ...negotiate, offered: negotiate.headers['www-authenticate'] ?? 'nothing' }
          : negotiate;
      const type2 = ntlm.decodeType2Message(challenge);
      return await sendThrough(agent, {
        ...req,
        headers: {
          ...req.headers,
          authorization: ntlm.createType3Message(
            type2,
            user,
            account.password,
            workstation,
            domain,
          ),
        },
      });
    } finally {
      agent.destroy();
    }
  };
}
