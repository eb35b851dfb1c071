/**
 * The Microsoft identity platform part of the Graph test server: OpenID Connect discovery, the
 * client credentials grant and the bearer tokens it issues. More lenient than Entra: one tenant,
 * and tokens are opaque strings (Entra issues JWTs).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { graphError, json, readBody } from './graph-wire.ts';

export class GraphIdentity {
  readonly tenant: string;
  readonly clientId: string;
  clientSecret: string;
  tokenLifetimeSeconds = 3599;
  readonly #tokens = new Map<string, number>();
  readonly #url: () => string;

  constructor(
    opts: { tenant?: string; clientId?: string; clientSecret?: string },
    url: () => string,
  ) {
    this.tenant = opts.tenant ?? 'contoso.onmicrosoft.com';
    this.clientId = opts.clientId ?? randomUUID();
    this.clientSecret = opts.clientSecret ?? randomBytes(16).toString('hex');
    this.#url = url;
  }

  /** Answers the request if it is the identity platform's; false when it is not. */
  async handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<boolean> {
    const t = `/${this.tenant}`;
    const base = this.#url();
    // OpenID Connect discovery (Microsoft identity platform: "OpenID Connect on the Microsoft
    // identity platform", the metadata document), which MSAL reads for the token endpoint.
    if (req.method === 'GET' && url.pathname === `${t}/v2.0/.well-known/openid-configuration`) {
      json(res, 200, {
        issuer: `${base}${t}/v2.0`,
        token_endpoint: `${base}${t}/oauth2/v2.0/token`,
        authorization_endpoint: `${base}${t}/oauth2/v2.0/authorize`,
        jwks_uri: `${base}${t}/discovery/v2.0/keys`,
        end_session_endpoint: `${base}${t}/oauth2/v2.0/logout`,
        response_types_supported: ['code', 'id_token', 'token'],
        subject_types_supported: ['pairwise'],
        id_token_signing_alg_values_supported: ['RS256'],
      });
      return true;
    }
    if (req.method === 'POST' && url.pathname === `${t}/oauth2/v2.0/token`) {
      await this.#token(req, res);
      return true;
    }
    return false;
  }

  /**
   * The client credentials grant (Microsoft identity platform: "OAuth 2.0 client credentials
   * flow", first case: a shared secret): form-encoded, scope `{resource}/.default`. A wrong
   * secret is 401 invalid_client with AADSTS7000215.
   */
  async #token(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (!/^application\/x-www-form-urlencoded/.test(req.headers['content-type'] ?? ''))
      return json(res, 400, { error: 'invalid_request', error_description: 'AADSTS900144' });
    const form = new URLSearchParams((await readBody(req)).toString('utf8'));
    if (form.get('grant_type') !== 'client_credentials')
      return json(res, 400, {
        error: 'unsupported_grant_type',
        error_description: 'AADSTS70003: The app requested an unsupported grant type.',
      });
    if (form.get('client_id') !== this.clientId)
      return json(res, 400, {
        error: 'unauthorized_client',
        error_description: `AADSTS700016: Application with identifier '${form.get('client_id')}' was not found in the directory.`,
      });
    if (form.get('client_secret') !== this.clientSecret)
      return json(res, 401, {
        error: 'invalid_client',
        error_description:
          'AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID.',
      });
    const scopes = (form.get('scope') ?? '').split(' ');
    if (!scopes.includes(`${this.#url()}/.default`))
      return json(res, 400, {
        error: 'invalid_scope',
        error_description: `AADSTS1002012: The provided value for scope ${form.get('scope')} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).`,
      });
    const token = randomBytes(24).toString('base64url');
    this.#tokens.set(token, Date.now() + this.tokenLifetimeSeconds * 1000);
    json(res, 200, {
      token_type: 'Bearer',
      expires_in: this.tokenLifetimeSeconds,
      ext_expires_in: this.tokenLifetimeSeconds,
      access_token: token,
    });
  }

  /** Bearer token check (Graph: "Authentication and authorization basics"): 401 InvalidAuthenticationToken. */
  authorised(req: IncomingMessage, res: ServerResponse): boolean {
    const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    const until = token ? this.#tokens.get(token) : undefined;
    if (until !== undefined && until > Date.now()) return true;
    graphError(
      res,
      401,
      'InvalidAuthenticationToken',
      token ? 'Lifetime validation failed, the token is expired.' : 'Access token is empty.',
    );
    return false;
  }
}
