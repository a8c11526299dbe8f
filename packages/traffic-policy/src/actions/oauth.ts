import { z } from 'zod';
import { defineAction } from '../action.js';
import { oauthProviderNames, oauthProviders, type OAuthProviderPreset } from '../oauth-providers.js';
import { createSignInRunner, type ProviderEndpoints } from '../sign-in.js';
import { respondWithError } from './shared.js';
import { ConstantFields, sessionTimes, signInFields, uniqueScopes } from './sign-in-config.js';

const endpointUrl = (description: string) =>
  z
    .string()
    .max(2048)
    .refine((text) => URL.canParse(text) && /^https?:$/.test(new URL(text).protocol), 'must be an http(s) URL')
    .describe(description);

const configSchema = z.strictObject({
  provider: z
    .enum([...oauthProviderNames, 'custom'])
    .describe('The OAuth provider; `custom` (Gatehouse) takes its endpoints from `endpoints`.'),
  ...signInFields,
  client_id: signInFields.client_id.optional(),
  endpoints: z
    .strictObject({
      authorization_url: endpointUrl('Where the browser is sent to sign in.'),
      token_url: endpointUrl('Where the authorization code is exchanged for an access token.'),
      userinfo_url: endpointUrl('Where the user is read with the access token (JSON with sub or id, email, name).'),
    })
    .optional()
    .describe(
      "Gatehouse: the provider's endpoints, for `custom` or to point a preset at a self-hosted instance (GitLab).",
    ),
});

export const oauthAction = defineAction({
  type: 'oauth',
  description:
    'Browser sign-in with an OAuth 2.0 provider (authorization code + PKCE); the identity, read from the provider, is kept in an encrypted session cookie.',
  phases: ['on_http_request'],
  resultName: 'oauth',
  isAuthentication: true,
  configSchema,
  configRequired: true,
  alwaysTerminates: () => false,
  compile(config, context) {
    if (config.client_id === undefined || config.client_secret === undefined) {
      context.issue(
        'POLICY_CONFIG_INVALID',
        'Gatehouse has no managed OAuth applications: register an application with the provider and set client_id and client_secret (client_secret can come from a vault with secrets.get)',
        [config.client_id === undefined ? 'client_id' : 'client_secret'],
      );
    }
    if (config.provider === 'custom' && config.endpoints === undefined)
      context.issue(
        'POLICY_CONFIG_INVALID',
        'provider custom needs endpoints (authorization_url, token_url, userinfo_url)',
        ['endpoints'],
      );
    if (config.idle_session_duration !== undefined && config.idle_session_timeout !== undefined)
      context.issue('POLICY_CONFIG_INVALID', 'set idle_session_timeout or idle_session_duration, not both', [
        'idle_session_duration',
      ]);
    const fields = new ConstantFields(context);
    const clientId = config.client_id === undefined ? '' : fields.get(config.client_id, ['client_id']);
    const clientSecret = config.client_secret === undefined ? '' : fields.get(config.client_secret, ['client_secret']);
    if (fields.unavailable !== undefined) {
      const reason = fields.unavailable;
      return () => ({
        outcome: respondWithError('SECRET_UNAVAILABLE', 'Gatehouse: the sign-in settings are not available.'),
        detail: reason,
      });
    }
    const preset: OAuthProviderPreset =
      config.provider === 'custom'
        ? { authorizationUrl: '', tokenUrl: '', userinfoUrl: '', scopes: [] }
        : oauthProviders[config.provider];
    const endpoints: ProviderEndpoints = {
      authorizationUrl: config.endpoints?.authorization_url ?? preset.authorizationUrl,
      tokenUrl: config.endpoints?.token_url ?? preset.tokenUrl,
      userinfoUrl: config.endpoints?.userinfo_url ?? preset.userinfoUrl,
      // Every listed provider accepts the client credentials in the form; some (GitHub, Twitch) accept nothing else.
      tokenAuth: 'client_secret_post',
    };
    return createSignInRunner({
      actionType: 'oauth',
      resultName: 'oauth',
      authId: config.auth_id ?? config.provider,
      clientId,
      clientSecret,
      scopes: uniqueScopes(preset.scopes, config.scopes ?? []),
      authorizationParams: { ...preset.authorizationParams, ...config.authz_url_params },
      ...sessionTimes(config),
      allowCorsPreflight: config.allow_cors_preflight,
      cookieDomain: config.auth_cookie_domain,
      // The token URL tells a self-hosted GitLab (or a custom provider) from another with the same preset name.
      identityNamespace: `oauth:${config.provider}:${endpoints.tokenUrl}`,
      endpoints: () => Promise.resolve(endpoints),
    });
  },
});
