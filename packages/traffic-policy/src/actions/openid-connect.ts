import { z } from 'zod';
import { defineAction } from '../action.js';
import { createSignInRunner, idTokenAlgorithms, type ProviderEndpoints } from '../sign-in.js';
import type { PolicyPorts } from '../ports.js';
import { respondWithError } from './shared.js';
import { ConstantFields, sessionTimes, signInFields, uniqueScopes } from './sign-in-config.js';

const configSchema = z.strictObject({
  issuer_url: z
    .string()
    .min(1)
    .max(2048)
    .refine(
      (text) => text.includes('${') || isHttpUrl(text),
      'must be an http(s) URL such as https://accounts.google.com',
    )
    .describe('The OpenID Provider; its configuration is read from `<issuer_url>/.well-known/openid-configuration`.'),
  ...signInFields,
});

/** The scopes every OpenID Connect sign-in asks for (the identity variables need them); `scopes` adds to these. */
const baseScopes = ['openid', 'profile', 'email'];

export const openIdConnectAction = defineAction({
  type: 'openid-connect',
  description:
    'Browser sign-in with an OpenID Connect provider (authorization code + PKCE); the identity is kept in an encrypted session cookie.',
  phases: ['on_http_request'],
  resultName: 'oidc',
  isAuthentication: true,
  configSchema,
  configRequired: true,
  alwaysTerminates: () => false,
  compile(config, context) {
    const fields = new ConstantFields(context);
    const issuer = fields.get(config.issuer_url, ['issuer_url']);
    const clientId = fields.get(config.client_id, ['client_id']);
    const clientSecret = config.client_secret === undefined ? '' : fields.get(config.client_secret, ['client_secret']);
    if (issuer !== '' && !isHttpUrl(issuer)) fields.unavailable ??= 'issuer_url computed from secrets is not a URL';
    if (config.idle_session_duration !== undefined && config.idle_session_timeout !== undefined)
      context.issue('POLICY_CONFIG_INVALID', 'set idle_session_duration or idle_session_timeout, not both', [
        'idle_session_timeout',
      ]);
    if (fields.unavailable !== undefined) {
      const reason = fields.unavailable;
      return () => ({
        outcome: respondWithError('SECRET_UNAVAILABLE', 'Gatehouse: the sign-in settings are not available.'),
        detail: reason,
      });
    }
    return createSignInRunner({
      actionType: 'openid-connect',
      resultName: 'oidc',
      authId: config.auth_id ?? 'oidc',
      clientId,
      clientSecret,
      scopes: uniqueScopes(baseScopes, config.scopes ?? []),
      authorizationParams: config.authz_url_params ?? {},
      ...sessionTimes(config),
      allowCorsPreflight: config.allow_cors_preflight,
      cookieDomain: config.auth_cookie_domain,
      identityNamespace: withoutTrailingSlash(issuer),
      endpoints: (ports) => discover(ports, issuer),
    });
  },
});

async function discover(ports: PolicyPorts, issuer: string): Promise<ProviderEndpoints> {
  const metadata = await ports.identityProviders.discover(issuer);
  // OpenID Connect Discovery 4.3: the document must name the issuer it was fetched for (a trailing slash aside,
  // which people write either way), and that issuer is what the ID token's `iss` must equal.
  if (withoutTrailingSlash(metadata.issuer) !== withoutTrailingSlash(issuer))
    throw new Error(`the discovery document names issuer ${JSON.stringify(metadata.issuer.slice(0, 200))}`);
  const methods = metadata.token_endpoint_auth_methods_supported ?? ['client_secret_basic'];
  return {
    authorizationUrl: metadata.authorization_endpoint,
    tokenUrl: metadata.token_endpoint,
    ...(metadata.userinfo_endpoint === undefined ? {} : { userinfoUrl: metadata.userinfo_endpoint }),
    idToken: {
      issuer: metadata.issuer,
      jwksUri: metadata.jwks_uri,
      algorithms: idTokenAlgorithms(metadata.id_token_signing_alg_values_supported),
    },
    tokenAuth:
      !methods.includes('client_secret_basic') && methods.includes('client_secret_post')
        ? 'client_secret_post'
        : 'client_secret_basic',
  };
}

function withoutTrailingSlash(url: string): string {
  return url.endsWith('/') ? url.slice(0, -1) : url;
}

function isHttpUrl(text: string): boolean {
  if (!URL.canParse(text)) return false;
  const protocol = new URL(text).protocol;
  return protocol === 'https:' || protocol === 'http:';
}
