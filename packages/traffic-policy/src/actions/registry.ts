import type { AnyAction } from '../action.js';
import { addHeadersAction } from './add-headers.js';
import { aiGatewayAction } from './ai-gateway.js';
import { basicAuthAction } from './basic-auth.js';
import { circuitBreakerAction } from './circuit-breaker.js';
import { closeConnectionAction } from './close-connection.js';
import { compressResponseAction } from './compress-response.js';
import { customResponseAction } from './custom-response.js';
import { denyAction } from './deny.js';
import { requestBodyFindReplaceAction, responseBodyFindReplaceAction, sseFindReplaceAction } from './find-replace.js';
import { forwardInternalAction } from './forward-internal.js';
import { httpRequestAction } from './http-request.js';
import { jwtValidationAction } from './jwt-validation.js';
import { logAction } from './log.js';
import { mcpToolsAction } from './mcp-tools.js';
import { oauthAction } from './oauth.js';
import { openIdConnectAction } from './openid-connect.js';
import { rateLimitAction } from './rate-limit.js';
import { redirectAction } from './redirect.js';
import { removeHeadersAction } from './remove-headers.js';
import { restrictIpsAction } from './restrict-ips.js';
import { setVarsAction } from './set-vars.js';
import { unsupportedActions } from './unsupported.js';
import { urlRewriteAction } from './url-rewrite.js';
import { verifyWebhookAction } from './verify-webhook.js';

/**
 * Every action, listed by hand: no discovery, no decorators. Typed as non-empty so the policy schema can build its
 * discriminated union (which needs at least one member) without a cast.
 */
export const actionDefinitions: readonly [AnyAction, ...AnyAction[]] = [
  denyAction,
  customResponseAction,
  redirectAction,
  urlRewriteAction,
  forwardInternalAction,
  closeConnectionAction,
  addHeadersAction,
  removeHeadersAction,
  restrictIpsAction,
  rateLimitAction,
  basicAuthAction,
  jwtValidationAction,
  logAction,
  setVarsAction,
  compressResponseAction,
  circuitBreakerAction,
  verifyWebhookAction,
  requestBodyFindReplaceAction,
  responseBodyFindReplaceAction,
  sseFindReplaceAction,
  mcpToolsAction,
  openIdConnectAction,
  oauthAction,
  httpRequestAction,
  aiGatewayAction,
  ...unsupportedActions,
];

export const actionsByType: ReadonlyMap<string, AnyAction> = new Map(
  actionDefinitions.map((definition) => [definition.type, definition]),
);
