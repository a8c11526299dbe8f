import type { IncomingMessage, ServerResponse } from 'node:http';
import Provider, { type Configuration } from 'oidc-provider';
import { listen, type RunningServer } from './upstreams.js';

export interface TestAccount {
  email: string;
  name: string;
}

export interface TestOpenIdProvider extends RunningServer {
  issuer: string;
  /** Creates the provider with its clients (their redirect URIs are known only once the gateway listens). */
  register(clients: TestClient[]): void;
  /** Who signs in at the next interaction (the provider's login page is answered by the test, not a form). */
  signInAs: string;
  /** Every authorization request as it arrived (query parameters). */
  authorizationRequests: URLSearchParams[];
  /** Token requests that arrived. */
  tokenRequests: number;
  /** Refresh grants the provider granted (a refused one is not counted). */
  refreshGrants: number;
  /** Every refresh token the provider handed out, to look for where it must never appear. */
  issuedRefreshTokens: string[];
}

export interface OpenIdProviderOptions {
  /** Seconds an access token lives (announced as `expires_in`); default an hour. */
  accessTokenTtl?: number;
  /**
   * Refresh tokens for every client allowed the refresh_token grant (not only with `offline_access`), rotated on every
   * use: a refresh token used twice is refused and its grant revoked, as the provider's reuse detection does.
   */
  refreshTokens?: boolean;
}

export interface TestClient {
  [metadata: string]: unknown;
  client_id: string;
  client_secret: string;
  redirect_uris: string[];
  token_endpoint_auth_method: 'client_secret_basic' | 'client_secret_post';
}

/**
 * A real OpenID Provider (the `oidc-provider` package, which is certified) on a socket: discovery, authorization with
 * PKCE required, token, JWKS and userinfo. Its interactive login and consent are completed by the test itself, as a
 * user clicking through would: the account named by `signInAs` signs in and grants the scopes asked for.
 */
export async function startOpenIdProvider(
  accounts: Record<string, TestAccount>,
  options: OpenIdProviderOptions = {},
): Promise<TestOpenIdProvider> {
  let handler: ((req: IncomingMessage, res: ServerResponse) => void) | undefined;
  const running = await listen((req, res) => {
    if (handler === undefined) res.writeHead(503).end();
    else handler(req, res);
  });
  const issuer = running.url;
  const state: TestOpenIdProvider = {
    ...running,
    issuer,
    signInAs: Object.keys(accounts)[0]!,
    authorizationRequests: [],
    tokenRequests: 0,
    refreshGrants: 0,
    issuedRefreshTokens: [],
    register: (clients) => {
      handler = createHandler(issuer, accounts, clients, state, options);
    },
  };
  return state;
}

function createHandler(
  issuer: string,
  accounts: Record<string, TestAccount>,
  clients: TestClient[],
  state: TestOpenIdProvider,
  options: OpenIdProviderOptions,
): (req: IncomingMessage, res: ServerResponse) => void {
  const configuration: Configuration = {
    clients,
    // PKCE is required of every client, so a gateway that did not send a verifier would be refused.
    pkce: { required: () => true },
    claims: { openid: ['sub'], email: ['email'], profile: ['name'] },
    features: { devInteractions: { enabled: false } },
    cookies: { keys: ['gatehouse-test-provider-cookie-key'] },
    ttl: {
      Interaction: 600,
      Session: 3600,
      Grant: 3600,
      AccessToken: options.accessTokenTtl ?? 3600,
      IdToken: 3600,
      RefreshToken: 3600,
    },
    ...(options.refreshTokens === true
      ? {
          issueRefreshToken: (_ctx, client) => client.grantTypeAllowed('refresh_token'),
          rotateRefreshToken: () => true,
        }
      : {}),
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    findAccount: (_ctx, id) => {
      const account = accounts[id];
      if (account === undefined) return undefined;
      return { accountId: id, claims: () => ({ sub: id, email: account.email, name: account.name }) };
    },
  };
  const provider = new Provider(issuer, configuration);
  // Quiet: a refused request is an expected outcome in these tests.
  provider.on('server_error', () => undefined);
  provider.on('grant.success', (ctx) => {
    if (ctx.oidc.params?.['grant_type'] === 'refresh_token') state.refreshGrants++;
    const issued = (ctx.body as { refresh_token?: unknown } | undefined)?.refresh_token;
    if (typeof issued === 'string') state.issuedRefreshTokens.push(issued);
  });
  const callback = provider.callback();
  return (req, res) => {
    const url = new URL(req.url ?? '/', issuer);
    if (url.pathname === '/auth') state.authorizationRequests.push(url.searchParams);
    if (url.pathname === '/token') state.tokenRequests++;
    if (url.pathname.startsWith('/interaction/')) {
      void completeInteraction(provider, state, req, res).catch((error: unknown) => {
        res.writeHead(500).end(String(error));
      });
      return;
    }
    void callback(req, res);
  };
}

async function completeInteraction(
  provider: Provider,
  state: TestOpenIdProvider,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const details = await provider.interactionDetails(req, res);
  if (details.prompt.name === 'login') {
    await provider.interactionFinished(req, res, { login: { accountId: state.signInAs } });
    return;
  }
  const grant = new provider.Grant({
    accountId: details.session!.accountId,
    clientId: details.params['client_id'] as string,
  });
  grant.addOIDCScope(String(details.params['scope']));
  const grantId = await grant.save();
  await provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
}
