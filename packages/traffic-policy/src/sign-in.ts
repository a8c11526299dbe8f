import type { ActionResult, ActionRunner } from './action.js';
import { continueOutcome, type HeaderMap, type PolicyContext } from './context.js';
import { respondWithError } from './actions/shared.js';
import { supportedJwsAlgorithms, verifyJwt, type JwsAlgorithm } from './jws.js';
import type { PolicyPorts } from './ports.js';
import {
  identityIdOf,
  openCookie,
  pkceChallenge,
  randomToken,
  sealCookie,
  type CookieBinding,
} from './sign-in-cookies.js';

/**
 * The browser sign-in both `openid-connect` and `oauth` run: authorization code flow with PKCE (S256), `state` and
 * (OpenID Connect) `nonce` kept in a sealed flow cookie, the identity kept in a sealed session cookie with a maximum
 * lifetime and an optional idle limit. The engine decides and seals; every network call (discovery, token exchange,
 * JWKS, userinfo) goes through the `identityProviders` and `jwks` ports, which the data plane implements with its
 * outbound rules. Any failure to reach or believe the provider fails closed with a stable code.
 *
 * Tokens: the access token is refreshed with the refresh token (RFC 6749 section 6) once it has expired, so
 * `access_token` and userinfo refreshes keep working for the whole session, as ngrok's continuous authorization does.
 * The refresh token lives only inside the sealed session cookie: it is never a policy variable, never logged.
 */

/** ngrok's special paths; the callback is Gatehouse's own (ngrok's lives on its own domain). */
export const signInPaths = {
  login: '/ngrok/login',
  logout: '/ngrok/logout',
  callback: '/ngrok/auth/callback',
} as const;

/** A flow not finished within this time must start over. */
const FLOW_LIFETIME_MS = 10 * 60_000;
/** Browsers keep about 4 KiB per cookie; an access token that would overflow it is not kept (no userinfo refresh). */
const MAX_COOKIE_VALUE_LENGTH = 3800;
/** Extra claims kept for `identity.claims` only while they stay this small, so the cookie stays under the limit. */
const MAX_CLAIMS_JSON_LENGTH = 1024;
/** How long the outcome of one refresh answers other requests that still carry the refresh token it used. */
const REFRESH_REUSE_MS = 30_000;
/** Outcomes remembered at most (oldest out first), so a burst of sessions cannot grow the map without bound. */
const MAX_SHARED_REFRESHES = 1_000;
/** An access token this close to its expiry is refreshed already, so it does not expire on its way upstream. */
const ACCESS_TOKEN_SKEW_MS = 30_000;
/** OpenID Connect claims that describe the token rather than the user; they are not copied into `identity.claims`. */
const tokenClaims = new Set(['iss', 'aud', 'exp', 'iat', 'nbf', 'nonce', 'at_hash', 'c_hash', 'azp', 'jti', 'sid']);

export interface ProviderEndpoints {
  authorizationUrl: string;
  tokenUrl: string;
  userinfoUrl?: string;
  /** OpenID Connect: the ID token's required `iss`, where its keys are, and which algorithms it may use. */
  idToken?: { issuer: string; jwksUri: string; algorithms: readonly JwsAlgorithm[] };
  /** How the client authenticates at the token endpoint. */
  tokenAuth: 'client_secret_basic' | 'client_secret_post';
}

export interface SignInSettings {
  actionType: 'openid-connect' | 'oauth';
  resultName: 'oidc' | 'oauth';
  authId: string;
  clientId: string;
  /** '' for a public client (PKCE only). */
  clientSecret: string;
  scopes: readonly string[];
  authorizationParams: Readonly<Record<string, string>>;
  maxSessionMs: number;
  idleSessionMs: number | undefined;
  userinfoRefreshMs: number | undefined;
  allowCorsPreflight: boolean;
  cookieDomain: string | undefined;
  /**
   * Who issues the identities (the OpenID issuer, or the OAuth provider and its token URL): with the user's id at the
   * provider it makes `identity.id`, the same for one user on every endpoint and data plane.
   */
  identityNamespace: string;
  /** Discovery (cached by the port) or a provider preset; rejects when the provider cannot be reached. */
  endpoints(ports: PolicyPorts): Promise<ProviderEndpoints>;
}

interface Identity {
  /** `identity.id`: derived from the issuer and the user, so stable across sessions, endpoints and data planes. */
  id?: string;
  provider_user_id: string;
  email: string;
  name: string;
  claims?: Record<string, unknown>;
}

/** What the session cookie holds; times are epoch milliseconds. */
interface Session {
  v: 1;
  sid: string;
  identity: Identity;
  /** When the session began (max lifetime counts from here). */
  started: number;
  /** The last request the session was used for, as of the last time the cookie was renewed (idle limit). */
  active: number;
  /** When userinfo was last read. */
  userinfo: number;
  access_token?: string;
  /** When the access token expires (from the token answer's `expires_in`); unknown when the provider did not say. */
  access_expires?: number;
  /** Only ever here, inside the sealed cookie: never a policy variable, a header or a log line. */
  refresh_token?: string;
  /** OpenID Connect: the ID token from the last token answer (`actions.ngrok.oidc.identity_token`). */
  id_token?: string;
  /**
   * The provider and client the session was signed in with. ngrok re-evaluates sessions when the action's
   * configuration changes; here a session from another issuer, provider or client ID must sign in again.
   * Absent in sessions sealed before this field existed, which are accepted as they are.
   */
  via?: string;
}

/** What a token answer (authorization code or refresh grant) gives a session. */
interface TokenSet {
  access_token: string;
  access_expires?: number;
  refresh_token?: string;
  id_token?: string;
}

interface Flow {
  v: 1;
  state: string;
  nonce: string;
  verifier: string;
  return_to: string;
  expires: number;
}

type Failure = { code: 'AUTH_PROVIDER_UNAVAILABLE' | 'AUTH_PROVIDER_REFUSED' | 'AUTH_STATE_INVALID'; detail: string };

const messages: Record<Failure['code'], string> = {
  AUTH_STATE_INVALID:
    'Gatehouse: this sign-in link is not valid any more (it expired, was used already, or belongs to another browser). Open the page you wanted again to sign in.',
  AUTH_PROVIDER_REFUSED: 'Gatehouse: the identity provider did not confirm this sign-in.',
  AUTH_PROVIDER_UNAVAILABLE:
    'Gatehouse: the identity provider cannot be reached, so sign-in is not possible right now. Try again later.',
};

export function createSignInRunner(settings: SignInSettings): ActionRunner {
  const signedInVia = `${settings.identityNamespace}\n${settings.clientId}`;
  const cookieNames = {
    session: `gatehouse_session_${settings.authId}`,
    flow: `gatehouse_flow_${settings.authId}`,
  };
  const binding = (context: PolicyContext, purpose: CookieBinding['purpose']): CookieBinding => ({
    endpointId: context.endpoint.id,
    actionType: settings.actionType,
    authId: settings.authId,
    purpose,
  });

  /**
   * A browser sends several requests at once with the same cookie, and a provider that rotates refresh tokens
   * refuses a refresh token used twice (and may revoke the whole grant, as reuse detection does). So one refresh per
   * refresh token at a time, and its outcome is reused for REFRESH_REUSE_MS by requests still carrying the old
   * cookie (the browser has not stored the renewed one yet). Within one process; data planes do not share it.
   */
  const refreshes = new Map<string, { at: number; outcome: Promise<TokenSet | false | Failure> }>();
  const sharedRefresh = (
    refreshToken: string,
    now: number,
    exchange: () => Promise<TokenSet | false | Failure>,
  ): Promise<TokenSet | false | Failure> => {
    for (const [key, entry] of refreshes) {
      if (now - entry.at < REFRESH_REUSE_MS && refreshes.size <= MAX_SHARED_REFRESHES) break;
      refreshes.delete(key);
    }
    const known = refreshes.get(refreshToken);
    if (known !== undefined && now - known.at < REFRESH_REUSE_MS) return known.outcome;
    const outcome = exchange();
    refreshes.set(refreshToken, { at: now, outcome });
    // A provider that could not be reached (or discovery that failed) is asked again by the next request.
    outcome.then(
      (result) => {
        if (result !== false && 'code' in result) refreshes.delete(refreshToken);
      },
      () => refreshes.delete(refreshToken),
    );
    return outcome;
  };

  const cookieHeader = (context: PolicyContext, name: string, value: string, maxAgeSeconds: number): string => {
    const attributes = [`${name}=${value}`, 'Path=/', 'HttpOnly', 'SameSite=Lax', `Max-Age=${maxAgeSeconds}`];
    if (settings.cookieDomain !== undefined) attributes.push(`Domain=${settings.cookieDomain}`);
    if (context.request.scheme === 'https') attributes.push('Secure');
    return attributes.join('; ');
  };

  const fail = (context: PolicyContext, failure: Failure, headers: HeaderMap = new Map()): ActionResult => {
    context.actionResults[settings.resultName] = {
      identity: noIdentity(),
      error: { code: failure.code, message: messages[failure.code] },
    };
    return { outcome: respondWithError(failure.code, `${messages[failure.code]}\n`, headers), detail: failure.detail };
  };

  /** Sends the browser to the provider, remembering state, nonce, PKCE verifier and where to come back to. */
  const startFlow = async (
    context: PolicyContext,
    ports: PolicyPorts,
    returnTo: string,
    forceLogin: boolean,
    headers: HeaderMap = new Map(),
  ): Promise<ActionResult> => {
    let endpoints: ProviderEndpoints;
    try {
      endpoints = await settings.endpoints(ports);
    } catch (error) {
      return fail(context, { code: 'AUTH_PROVIDER_UNAVAILABLE', detail: `discovery failed: ${describe(error)}` });
    }
    const now = ports.clock.now();
    const flow: Flow = {
      v: 1,
      state: randomToken(),
      nonce: randomToken(),
      verifier: randomToken(),
      return_to: returnTo,
      expires: now + FLOW_LIFETIME_MS,
    };
    const url = new URL(endpoints.authorizationUrl);
    for (const [name, value] of Object.entries(settings.authorizationParams)) url.searchParams.set(name, value);
    url.searchParams.set('response_type', 'code');
    url.searchParams.set('client_id', settings.clientId);
    url.searchParams.set('redirect_uri', redirectUri(context));
    url.searchParams.set('scope', settings.scopes.join(' '));
    url.searchParams.set('state', flow.state);
    url.searchParams.set('code_challenge', await pkceChallenge(flow.verifier));
    url.searchParams.set('code_challenge_method', 'S256');
    if (endpoints.idToken !== undefined) url.searchParams.set('nonce', flow.nonce);
    if (forceLogin) url.searchParams.set('prompt', 'login');
    const sealed = await sealCookie(ports.sessionKeys, binding(context, 'flow'), { ...flow });
    const cookies = headers.get('set-cookie') ?? [];
    headers.set('set-cookie', [...cookies, cookieHeader(context, cookieNames.flow, sealed, FLOW_LIFETIME_MS / 1000)]);
    headers.set('location', [url.href]);
    headers.set('cache-control', ['no-store']);
    context.actionResults[settings.resultName] = { identity: noIdentity() };
    return {
      outcome: { kind: 'respond', response: { status: 302, headers, body: '' } },
      detail: 'no session: sent to the identity provider',
    };
  };

  const finishFlow = async (context: PolicyContext, ports: PolicyPorts): Promise<ActionResult> => {
    const clearFlow = new Map([['set-cookie', [cookieHeader(context, cookieNames.flow, '', 0)]]]);
    const query = new URLSearchParams(context.request.query);
    const sealedFlow = cookieValue(context, cookieNames.flow);
    const opened =
      sealedFlow === undefined ? undefined : await openCookie(ports.sessionKeys, binding(context, 'flow'), sealedFlow);
    const flow = opened as Flow | undefined;
    const now = ports.clock.now();
    if (flow === undefined || flow.v !== 1 || typeof flow.expires !== 'number' || flow.expires <= now)
      return fail(context, { code: 'AUTH_STATE_INVALID', detail: 'no valid flow cookie' }, clearFlow);
    if (query.get('state') !== flow.state)
      return fail(context, { code: 'AUTH_STATE_INVALID', detail: 'state does not match the flow' }, clearFlow);
    const providerError = query.get('error');
    if (providerError !== null)
      return fail(
        context,
        { code: 'AUTH_PROVIDER_REFUSED', detail: `the provider answered error=${providerError.slice(0, 100)}` },
        clearFlow,
      );
    const code = query.get('code');
    if (code === null || code === '')
      return fail(context, { code: 'AUTH_PROVIDER_REFUSED', detail: 'the callback has no code' }, clearFlow);

    let endpoints: ProviderEndpoints;
    try {
      endpoints = await settings.endpoints(ports);
    } catch (error) {
      return fail(
        context,
        { code: 'AUTH_PROVIDER_UNAVAILABLE', detail: `discovery failed: ${describe(error)}` },
        clearFlow,
      );
    }
    let token: { status: number; body: Record<string, unknown> };
    try {
      token = await clientTokenRequest(ports, settings, endpoints, {
        grant_type: 'authorization_code',
        code,
        redirect_uri: redirectUri(context),
        code_verifier: flow.verifier,
      });
    } catch (error) {
      return fail(
        context,
        { code: 'AUTH_PROVIDER_UNAVAILABLE', detail: `token request failed: ${describe(error)}` },
        clearFlow,
      );
    }
    const accessToken = token.body['access_token'];
    if (token.status !== 200 || typeof accessToken !== 'string' || accessToken === '') {
      const error = typeof token.body['error'] === 'string' ? token.body['error'].slice(0, 100) : 'none';
      const code = token.status >= 500 ? 'AUTH_PROVIDER_UNAVAILABLE' : 'AUTH_PROVIDER_REFUSED';
      return fail(context, { code, detail: `token endpoint answered ${token.status} (error=${error})` }, clearFlow);
    }

    let identity: Identity | undefined;
    if (endpoints.idToken !== undefined) {
      const idToken = token.body['id_token'];
      if (typeof idToken !== 'string')
        return fail(context, { code: 'AUTH_PROVIDER_REFUSED', detail: 'the token answer has no id_token' }, clearFlow);
      const expected = endpoints.idToken;
      const verification = await verifyJwt(idToken, {
        allowedAlgorithms: expected.algorithms,
        issuers: [expected.issuer],
        audiences: [settings.clientId],
        nowSeconds: Math.floor(now / 1000),
        resolveKeys: () => ports.jwks.keys(expected.jwksUri),
      });
      if (!verification.ok) {
        const code = verification.code === 'JWKS_UNAVAILABLE' ? 'AUTH_PROVIDER_UNAVAILABLE' : 'AUTH_PROVIDER_REFUSED';
        return fail(context, { code, detail: `id_token: ${verification.code}: ${verification.message}` }, clearFlow);
      }
      if (verification.payload['nonce'] !== flow.nonce)
        return fail(context, { code: 'AUTH_PROVIDER_REFUSED', detail: 'id_token nonce does not match' }, clearFlow);
      identity = identityOf(verification.payload);
    }
    if (endpoints.userinfoUrl !== undefined) {
      const userinfo = await readUserinfo(ports, endpoints.userinfoUrl, accessToken);
      if (!userinfo.ok) return fail(context, userinfo.failure, clearFlow);
      // OpenID Connect Core 5.3.2: userinfo about another subject than the ID token's must not be used.
      if (identity !== undefined && userinfo.identity.provider_user_id !== identity.provider_user_id)
        return fail(
          context,
          { code: 'AUTH_PROVIDER_REFUSED', detail: 'userinfo sub differs from the id_token' },
          clearFlow,
        );
      identity = mergeIdentity(identity, userinfo.identity);
    }
    if (identity === undefined || identity.provider_user_id === '')
      return fail(context, { code: 'AUTH_PROVIDER_REFUSED', detail: 'the provider named no user' }, clearFlow);

    identity.id = await identityIdOf(settings.identityNamespace, identity.provider_user_id);
    const session: Session = {
      v: 1,
      sid: randomToken(),
      identity,
      started: now,
      active: now,
      userinfo: now,
      ...tokenSetOf(token.body, now, endpoints.idToken !== undefined),
      via: signedInVia,
    };
    const headers = clearFlow;
    headers.get('set-cookie')!.push(await sessionCookie(context, ports, session));
    headers.set('location', [flow.return_to]);
    headers.set('cache-control', ['no-store']);
    setResults(context, session, settings, { userinfoRefreshed: true });
    return {
      outcome: { kind: 'respond', response: { status: 302, headers, body: '' } },
      detail: 'signed in',
    };
  };

  const sessionCookie = async (context: PolicyContext, ports: PolicyPorts, session: Session): Promise<string> => {
    // Too large for a browser to keep: the ID token goes first, then the extra claims, then the tokens (userinfo
    // refresh and token refresh then stop, the session itself lasts).
    const { id_token: _idToken, ...withoutIdToken } = session;
    const { claims: _claims, ...identity } = session.identity;
    const { access_token: _access, access_expires: _expires, refresh_token: _refresh, ...bare } = withoutIdToken;
    let sealed = '';
    for (const candidate of [session, withoutIdToken, { ...withoutIdToken, identity }, { ...bare, identity }]) {
      sealed = await sealCookie(ports.sessionKeys, binding(context, 'session'), { ...candidate });
      if (sealed.length <= MAX_COOKIE_VALUE_LENGTH) break;
    }
    const expiresInMs = session.started + settings.maxSessionMs - ports.clock.now();
    return cookieHeader(context, cookieNames.session, sealed, Math.max(1, Math.ceil(expiresInMs / 1000)));
  };

  return async (context, ports) => {
    const path = context.request.path;
    const query = new URLSearchParams(context.request.query);
    const targetsThis = (query.get('auth_id') ?? settings.authId) === settings.authId;

    if (path === signInPaths.logout && targetsThis) {
      const headers: HeaderMap = new Map([
        ['set-cookie', [cookieHeader(context, cookieNames.session, '', 0)]],
        ['cache-control', ['no-store']],
      ]);
      context.actionResults[settings.resultName] = { identity: noIdentity() };
      const next = safeRedirectPath(query.get('redirect_path'));
      if (next !== undefined) {
        headers.set('location', [next]);
        return { outcome: { kind: 'respond', response: { status: 302, headers, body: '' } }, detail: 'signed out' };
      }
      headers.set('content-type', ['text/plain; charset=utf-8']);
      return {
        outcome: { kind: 'respond', response: { status: 200, headers, body: 'You are signed out.\n' } },
        detail: 'signed out',
      };
    }
    if (path === signInPaths.callback) return finishFlow(context, ports);
    if (path === signInPaths.login && targetsThis)
      return startFlow(context, ports, safeRedirectPath(query.get('redirect_path')) ?? '/', true);

    if (
      settings.allowCorsPreflight &&
      context.request.method === 'OPTIONS' &&
      context.requestHeader('access-control-request-method') !== undefined
    ) {
      context.actionResults[settings.resultName] = { identity: noIdentity() };
      return { outcome: continueOutcome, detail: 'CORS preflight let through' };
    }

    const now = ports.clock.now();
    const sealed = cookieValue(context, cookieNames.session);
    const session =
      sealed === undefined
        ? undefined
        : ((await openCookie(ports.sessionKeys, binding(context, 'session'), sealed)) as Session | undefined);
    // A request for `//evil.example` must not come back as a protocol-relative Location after sign-in.
    const returnTo = safeRedirectPath(context.request.query === '' ? path : `${path}?${context.request.query}`) ?? '/';
    if (session === undefined || session.v !== 1 || typeof session.started !== 'number')
      return startFlow(context, ports, returnTo, false);
    if (session.via !== undefined && session.via !== signedInVia) return startFlow(context, ports, returnTo, false);
    if (now - session.started >= settings.maxSessionMs) {
      setResults(context, session, settings, { maxDurationReached: true });
      return startFlow(context, ports, returnTo, false);
    }
    if (settings.idleSessionMs !== undefined && now - session.active >= settings.idleSessionMs) {
      setResults(context, session, settings, { timedOut: true });
      return startFlow(context, ports, returnTo, false);
    }

    let renew = false;
    let userinfoRefreshed = false;
    let refreshed = false;
    let endpointsOnce: Promise<ProviderEndpoints> | undefined;
    const endpoints = () => (endpointsOnce ??= settings.endpoints(ports));
    /** Trades the refresh token for a new access token; false when the provider refused it (sign in again). */
    const refresh = async (): Promise<boolean | Failure> => {
      const outcome = await sharedRefresh(session.refresh_token!, now, async () =>
        exchangeRefreshToken(
          ports,
          settings,
          await endpoints(),
          session.refresh_token!,
          session.identity.provider_user_id,
          now,
        ),
      );
      if (outcome === false || 'code' in outcome) return outcome;
      applyTokens(session, outcome);
      refreshed = renew = true;
      return true;
    };
    try {
      if (
        session.refresh_token !== undefined &&
        session.access_expires !== undefined &&
        now >= session.access_expires - ACCESS_TOKEN_SKEW_MS
      ) {
        const outcome = await refresh();
        if (outcome === false) return startFlow(context, ports, returnTo, false);
        if (outcome !== true) return fail(context, outcome);
      }
    } catch (error) {
      return fail(context, { code: 'AUTH_PROVIDER_UNAVAILABLE', detail: `discovery failed: ${describe(error)}` });
    }
    if (
      settings.userinfoRefreshMs !== undefined &&
      session.access_token !== undefined &&
      now - session.userinfo >= settings.userinfoRefreshMs
    ) {
      let resolved: ProviderEndpoints;
      try {
        resolved = await endpoints();
      } catch (error) {
        return fail(context, { code: 'AUTH_PROVIDER_UNAVAILABLE', detail: `discovery failed: ${describe(error)}` });
      }
      if (resolved.userinfoUrl !== undefined) {
        let userinfo = await readUserinfo(ports, resolved.userinfoUrl, session.access_token);
        // An access token the provider stopped accepting before its announced expiry (or with none announced):
        // one refresh, then the userinfo read again with the new token.
        if (!userinfo.ok && userinfo.failure.code === 'AUTH_PROVIDER_REFUSED' && session.refresh_token && !refreshed) {
          const outcome = await refresh();
          if (outcome === false) return startFlow(context, ports, returnTo, false);
          if (outcome !== true) return fail(context, outcome);
          userinfo = await readUserinfo(ports, resolved.userinfoUrl, session.access_token);
        }
        if (!userinfo.ok) {
          // The provider no longer accepts the access token: the session is over, sign in again.
          if (userinfo.failure.code === 'AUTH_PROVIDER_REFUSED') return startFlow(context, ports, returnTo, false);
          return fail(context, userinfo.failure);
        }
        if (userinfo.identity.provider_user_id !== session.identity.provider_user_id)
          return startFlow(context, ports, returnTo, false);
        session.identity = mergeIdentity(session.identity, userinfo.identity);
        session.userinfo = now;
        renew = userinfoRefreshed = true;
      }
    }
    // The idle clock only moves when the cookie is renewed; renewing on every request would mean a Set-Cookie on
    // every response, so it happens once a tenth of the idle limit (at most once a minute) has passed.
    if (settings.idleSessionMs !== undefined && now - session.active >= Math.min(60_000, settings.idleSessionMs / 10))
      renew = true;
    if (renew) {
      session.active = now;
      (context.directives.setCookies ??= []).push(await sessionCookie(context, ports, session));
    }
    removeCookies(context, [cookieNames.session, cookieNames.flow]);
    // Sessions sealed before identity ids existed get theirs here (it is derived, so it is the same every time).
    session.identity.id ??= await identityIdOf(settings.identityNamespace, session.identity.provider_user_id);
    setResults(context, session, settings, { userinfoRefreshed });
    return { outcome: continueOutcome, detail: `session of ${session.identity.provider_user_id}` };
  };
}

/** Before anyone signed in the identity fields are empty strings, so `identity.email.endsWith(…)` is false, not an error. */
function noIdentity(): Record<string, string> {
  return { id: '', provider_user_id: '', email: '', name: '' };
}

function setResults(
  context: PolicyContext,
  session: Session,
  settings: SignInSettings,
  flags: { timedOut?: boolean; maxDurationReached?: boolean; userinfoRefreshed?: boolean },
): void {
  const oidc = settings.actionType === 'openid-connect';
  const identity: Record<string, unknown> = {
    id: session.identity.id ?? '',
    provider_user_id: session.identity.provider_user_id,
    email: session.identity.email,
    name: session.identity.name,
    // ngrok names the session id differently for the two actions.
    [oidc ? 'current_session_id' : 'current_provider_session_id']: session.sid,
  };
  if (oidc) identity['claims'] = session.identity.claims ?? {};
  const expiresAt = new Date(session.started + settings.maxSessionMs).toISOString();
  const timedOut = flags.timedOut ?? false;
  const maxDurationReached = flags.maxDurationReached ?? false;
  const userinfoRefreshed = flags.userinfoRefreshed ?? false;
  context.actionResults[settings.resultName] = {
    identity,
    // ngrok's names (https://ngrok.com/docs/traffic-policy/actions/oidc/#action-result-variables).
    expires_at: expiresAt,
    session_timed_out: timedOut,
    session_max_duration_reached: maxDurationReached,
    userinfo_refreshed: userinfoRefreshed,
    // The names Gatehouse used before it followed ngrok's; kept so existing policies keep working.
    session: {
      id: session.sid,
      expires_at: expiresAt,
      timed_out: timedOut,
      max_duration_reached: maxDurationReached,
      userinfo_refreshed: userinfoRefreshed,
    },
    access_token: session.access_token ?? '',
    ...(oidc ? { identity_token: session.id_token ?? '' } : {}),
  };
}

/** The tokens of a token answer; `expires_in` (seconds) becomes an absolute time on the gateway's clock. */
function tokenSetOf(body: Record<string, unknown>, now: number, keepIdToken: boolean): TokenSet {
  const set: TokenSet = { access_token: body['access_token'] as string };
  const expiresIn = body['expires_in'];
  const seconds = typeof expiresIn === 'string' ? Number(expiresIn) : expiresIn;
  if (typeof seconds === 'number' && Number.isFinite(seconds) && seconds > 0) set.access_expires = now + seconds * 1000;
  if (typeof body['refresh_token'] === 'string' && body['refresh_token'] !== '')
    set.refresh_token = body['refresh_token'];
  // Only OpenID Connect exposes the ID token (`identity_token`); an OAuth provider's would only fill the cookie.
  if (keepIdToken && typeof body['id_token'] === 'string' && body['id_token'] !== '') set.id_token = body['id_token'];
  return set;
}

/**
 * The refresh grant (RFC 6749 section 6): the new tokens (a new refresh token only when the provider rotates it),
 * false when the provider refused the refresh token (the session is over), a failure when the provider could not be
 * reached. An ID token in the answer must
 * name the same issuer, audience and subject (OpenID Connect Core 12.2).
 */
async function exchangeRefreshToken(
  ports: PolicyPorts,
  settings: SignInSettings,
  endpoints: ProviderEndpoints,
  refreshToken: string,
  subject: string,
  now: number,
): Promise<TokenSet | false | Failure> {
  let token: { status: number; body: Record<string, unknown> };
  try {
    token = await clientTokenRequest(ports, settings, endpoints, {
      grant_type: 'refresh_token',
      refresh_token: refreshToken,
    });
  } catch (error) {
    return { code: 'AUTH_PROVIDER_UNAVAILABLE', detail: `refresh failed: ${describe(error)}` };
  }
  if (token.status >= 500) return { code: 'AUTH_PROVIDER_UNAVAILABLE', detail: `refresh answered ${token.status}` };
  const accessToken = token.body['access_token'];
  if (token.status !== 200 || typeof accessToken !== 'string' || accessToken === '') return false;
  const tokens = tokenSetOf(token.body, now, endpoints.idToken !== undefined);
  if (tokens.id_token !== undefined && endpoints.idToken !== undefined) {
    const expected = endpoints.idToken;
    const verification = await verifyJwt(tokens.id_token, {
      allowedAlgorithms: expected.algorithms,
      issuers: [expected.issuer],
      audiences: [settings.clientId],
      nowSeconds: Math.floor(now / 1000),
      resolveKeys: () => ports.jwks.keys(expected.jwksUri),
    });
    if (!verification.ok)
      return verification.code === 'JWKS_UNAVAILABLE'
        ? { code: 'AUTH_PROVIDER_UNAVAILABLE', detail: `refreshed id_token: ${verification.code}` }
        : false;
    if (verification.payload['sub'] !== subject) return false;
  }
  return tokens;
}

function applyTokens(session: Session, tokens: TokenSet): void {
  session.access_token = tokens.access_token;
  if (tokens.access_expires === undefined) delete session.access_expires;
  else session.access_expires = tokens.access_expires;
  // A provider that does not rotate refresh tokens answers without one: the old one stays valid.
  if (tokens.refresh_token !== undefined) session.refresh_token = tokens.refresh_token;
  if (tokens.id_token !== undefined) session.id_token = tokens.id_token;
}

/** A token endpoint call with the client's credentials, sent the way the provider asks for them. */
function clientTokenRequest(
  ports: PolicyPorts,
  settings: SignInSettings,
  endpoints: ProviderEndpoints,
  form: Record<string, string>,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const basic = endpoints.tokenAuth === 'client_secret_basic' && settings.clientSecret !== '';
  const body = { ...form };
  if (!basic) {
    body['client_id'] = settings.clientId;
    if (settings.clientSecret !== '') body['client_secret'] = settings.clientSecret;
  }
  return ports.identityProviders.requestToken(endpoints.tokenUrl, {
    form: body,
    ...(basic ? { basicAuth: { clientId: settings.clientId, clientSecret: settings.clientSecret } } : {}),
  });
}

type UserinfoResult = { ok: true; identity: Identity } | { ok: false; failure: Failure };

async function readUserinfo(ports: PolicyPorts, url: string, accessToken: string): Promise<UserinfoResult> {
  let answer: { status: number; body: Record<string, unknown> };
  try {
    answer = await ports.identityProviders.fetchUserinfo(url, accessToken);
  } catch (error) {
    return { ok: false, failure: { code: 'AUTH_PROVIDER_UNAVAILABLE', detail: `userinfo failed: ${describe(error)}` } };
  }
  if (answer.status === 401 || answer.status === 403)
    return { ok: false, failure: { code: 'AUTH_PROVIDER_REFUSED', detail: `userinfo answered ${answer.status}` } };
  if (answer.status !== 200)
    return { ok: false, failure: { code: 'AUTH_PROVIDER_UNAVAILABLE', detail: `userinfo answered ${answer.status}` } };
  return { ok: true, identity: identityOf(answer.body) };
}

/**
 * One mapping for OpenID Connect claims and the providers' own user objects: the subject is `sub` (OIDC), `id`
 * (GitHub, Facebook, Twitch's Helix) or `user_id` (Amazon); the name falls back to `preferred_username` or `login`.
 */
export function identityOf(claims: Record<string, unknown>): Identity {
  const text = (value: unknown): string =>
    typeof value === 'string' ? value : typeof value === 'number' ? String(value) : '';
  const extra = Object.fromEntries(Object.entries(claims).filter(([name]) => !tokenClaims.has(name)));
  const identity: Identity = {
    provider_user_id: text(claims['sub']) || text(claims['id']) || text(claims['user_id']),
    email: text(claims['email']),
    name: text(claims['name']) || text(claims['preferred_username']) || text(claims['login']),
  };
  if (JSON.stringify(extra).length <= MAX_CLAIMS_JSON_LENGTH) identity.claims = extra;
  return identity;
}

function mergeIdentity(base: Identity | undefined, update: Identity): Identity {
  if (base === undefined) return update;
  return {
    ...(base.id === undefined ? {} : { id: base.id }),
    provider_user_id: base.provider_user_id,
    email: update.email || base.email,
    name: update.name || base.name,
    ...(base.claims !== undefined || update.claims !== undefined
      ? { claims: { ...base.claims, ...update.claims } }
      : {}),
  };
}

/** The callback URL on the host the browser used (its Host header), so it matches what was registered. */
function redirectUri(context: PolicyContext): string {
  const host = context.requestHeader('host')?.[0] ?? context.request.host;
  return `${context.request.scheme}://${host}${signInPaths.callback}`;
}

function cookieValue(context: PolicyContext, name: string): string | undefined {
  return context.requestCookies().get(name)?.[0]?.value;
}

/** The upstream never sees the sealed cookies: they are the gateway's, not the application's. */
function removeCookies(context: PolicyContext, names: readonly string[]): void {
  const headers = context.request.headers;
  const values = headers.get('cookie');
  if (values === undefined) return;
  const kept = values
    .map((value) =>
      value
        .split(';')
        .filter((part) => !names.includes(part.slice(0, part.indexOf('=')).trim()))
        .join(';')
        .trim(),
    )
    .filter((value) => value !== '');
  if (kept.length === values.length && kept.every((value, index) => value === values[index])) return;
  if (kept.length === 0) headers.delete('cookie');
  else headers.set('cookie', kept);
  context.requestChanged();
}

/** Only a path on this host: an absolute or protocol-relative URL would make the gateway an open redirector. */
function safeRedirectPath(value: string | null): string | undefined {
  if (value === null || !value.startsWith('/') || value.startsWith('//') || value.startsWith('/\\')) return undefined;
  return /[\r\n\0]/.test(value) ? undefined : value;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** The ID token algorithms a provider announces that Gatehouse verifies; RS256 when it announces none (OIDC default). */
export function idTokenAlgorithms(announced: readonly string[] | undefined): JwsAlgorithm[] {
  const supported = new Set<string>(supportedJwsAlgorithms);
  // HMAC ID tokens are signed with the client secret, which is not a key source here.
  const usable = (announced ?? ['RS256']).filter(
    (alg): alg is JwsAlgorithm => supported.has(alg) && !alg.startsWith('HS'),
  );
  return usable.length === 0 ? ['RS256'] : usable;
}
