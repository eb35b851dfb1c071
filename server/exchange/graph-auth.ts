import { readFileSync } from 'node:fs';
import {
  ConfidentialClientApplication,
  type INetworkModule,
  type NetworkRequestOptions,
  type NetworkResponse,
} from '@azure/msal-node';
import type { HttpRequest, HttpResponse } from './https-client.ts';

export interface GraphCredentials {
  tenant: string;
  clientId: string;
  clientSecret: string;
  certificate: { privateKeyFile: string; thumbprint: string };
  authority: string;
  endpoint: string;
}

/** Why no token came (refused, or the authority unreachable), in words an administrator acts on (never the secret). */
export class TokenRefused extends Error {}

/**
 * App-only tokens for Microsoft Graph: the client-credentials flow of @azure/msal-node against
 * the configured authority, which caches each token until shortly before it expires. Its HTTP
 * goes through the connection's own client, so the connection's CA is trusted.
 */
export class GraphAuth {
  readonly #app: ConfidentialClientApplication;
  readonly #scope: string;
  readonly #authority: string;

  constructor(c: GraphCredentials, send: (req: HttpRequest) => Promise<HttpResponse>) {
    const authority = `${c.authority.replace(/\/+$/, '')}/${c.tenant}`;
    this.#authority = authority;
    const networkClient: INetworkModule = {
      sendGetRequestAsync: (url, options) => call(send, 'GET', url, options),
      sendPostRequestAsync: (url, options) => call(send, 'POST', url, options),
    };
    this.#app = new ConfidentialClientApplication({
      auth: {
        clientId: c.clientId,
        authority,
        // A configured authority is trusted as it is: no instance discovery at Microsoft, so
        // national clouds, on-premises AD FS and test servers work alike.
        knownAuthorities: [new URL(c.authority).host],
        ...(c.clientSecret
          ? { clientSecret: c.clientSecret }
          : {
              clientCertificate: {
                // SHA-256 thumbprints (64 hex digits) are preferred; SHA-1 (40) still works.
                ...(c.certificate.thumbprint.length === 64
                  ? { thumbprintSha256: c.certificate.thumbprint }
                  : { thumbprint: c.certificate.thumbprint }),
                privateKey: readFileSync(c.certificate.privateKeyFile, 'utf8'),
              },
            }),
      },
      system: { networkClient },
    });
    this.#scope = `${c.endpoint.replace(/\/+$/, '')}/.default`;
  }

  /** A bearer token for the endpoint; TokenRefused when the authority says no. */
  async token(): Promise<string> {
    try {
      const result = await this.#app.acquireTokenByClientCredential({ scopes: [this.#scope] });
      if (!result?.accessToken) throw new TokenRefused('the authority gave no token');
      return result.accessToken;
    } catch (err) {
      if (err instanceof TokenRefused) throw err;
      const e = err as { errorCode?: string; errorMessage?: string; message?: string };
      // MSAL says only that it could not reach the authority (its metadata or token endpoint).
      if (e.errorCode === 'endpoints_resolution_error' || e.errorCode === 'network_error')
        throw new TokenRefused(`authority ${this.#authority} unreachable (${e.errorCode})`, {
          cause: err,
        });
      // AADSTS codes name the cause (7000215: wrong secret, 7000222: expired secret, 700016:
      // unknown application); the first line is enough, without trace and correlation ids.
      const what = (e.errorMessage ?? e.message ?? '')
        .split(/\r?\n/)[0]!
        .replace(/ Trace ID.*$/, '');
      throw new TokenRefused(
        `token refused: ${e.errorCode ?? 'error'}${what ? ` (${what})` : ''}`,
        {
          cause: err,
        },
      );
    }
  }
}

async function call<T>(
  send: (req: HttpRequest) => Promise<HttpResponse>,
  method: string,
  url: string,
  options?: NetworkRequestOptions,
): Promise<NetworkResponse<T>> {
  const res = await send({ method, url, headers: options?.headers, body: options?.body });
  let body: unknown = {};
  try {
    body = res.body.length ? JSON.parse(res.body.toString('utf8')) : {};
  } catch {
    body = {};
  }
  return { status: res.status, headers: res.headers, body: body as T };
}
