/**
 * Every error code the engine can produce, each with the one-line reason shown in the language reference.
 * Validation codes describe a policy that cannot be saved; runtime codes describe a request the gateway answered itself
 * (the data plane sends them in the `gatehouse-error-code` header). The maps are exhaustive by type, so a new code that
 * nobody documents fails the build.
 */

export const validationErrorCodes = {
  POLICY_PARSE_ERROR: 'The text is not valid YAML or JSON.',
  POLICY_TOO_LARGE:
    'The policy exceeds a size limit (text length, rules per phase, actions per rule or expressions per rule).',
  POLICY_SCHEMA_INVALID:
    'The document, a phase or a rule has the wrong shape (for example a map where a list of rules is expected).',
  POLICY_UNKNOWN_FIELD: 'A key that the document, a rule or an action config does not define.',
  POLICY_UNKNOWN_ACTION: 'An action `type` that Gatehouse does not know.',
  POLICY_CONFIG_INVALID: "An action's `config` is missing a required field or has a value of the wrong type or range.",
  POLICY_ACTION_NOT_ALLOWED_IN_PHASE: 'The action cannot run in the phase it is listed in.',
  POLICY_PHASE_NOT_ALLOWED:
    'The phase cannot be used on this kind of endpoint (on_tcp_connect on an internal endpoint).',
  POLICY_NOT_TERMINATING: "A cloud endpoint's on_http_request does not end in an unconditional terminating action.",
  POLICY_UNREACHABLE_ACTION:
    'An action that follows an unconditional terminating action in the same rule can never run.',
  POLICY_UNREACHABLE_RULE:
    'A rule that follows an unconditional terminating rule in the same phase can never run (warning).',
  POLICY_EXPRESSION_INVALID:
    'A CEL expression does not parse or type-check: unknown variable or function, or wrong types.',
  POLICY_EXPRESSION_NOT_BOOL: 'A rule expression does not evaluate to a bool.',
  POLICY_EXPRESSION_MAY_FAIL:
    'An expression can fail at runtime on a request that lacks a key (indexing a header map or a possibly empty list); such a failure answers POLICY_RUNTIME_ERROR (warning).',
  POLICY_INTERPOLATION_INVALID:
    'A `${...}` interpolation is unterminated or its expression does not parse or type-check.',
  POLICY_MULTIPLE_AUTH_ACTIONS:
    'More than one authentication action (basic-auth, jwt-validation, oauth, openid-connect) in one policy; ngrok refuses the same (ERR_NGROK_2239).',
  POLICY_FORWARD_TARGET_INVALID: 'A forward-internal URL that is not an http(s) URL whose host ends in `.internal`.',
  POLICY_FORWARD_TARGET_UNKNOWN:
    'A forward-internal URL that names no registered internal endpoint (warning; FORWARD_TARGET_OFFLINE at runtime).',
  POLICY_DEPRECATED_PHASE_NAME: 'The legacy phase names `inbound`/`outbound` are accepted but deprecated (warning).',
  POLICY_SECRET_NOT_FOUND:
    "A `secrets.get('vault', 'name')` names a vault or secret that does not exist (create it first, under Vaults).",
  POLICY_ACTION_NOT_SUPPORTED:
    'An action that Gatehouse recognizes but cannot run (for example terminate-tls, whose settings belong to the listener).',
} as const;

export type ValidationErrorCode = keyof typeof validationErrorCodes;

/** Codes of responses the gateway generates itself, with their HTTP status. */
export const runtimeErrorCodes = {
  ENDPOINT_NOT_FOUND: { status: 404, reason: 'No endpoint is registered for the Host of the request.' },
  ENDPOINT_CONFIG_INVALID: {
    status: 503,
    reason:
      "The Host's endpoint exists but its config was rejected (the policy does not compile or failed verification) and no earlier version is loaded; the data plane reports it on /status.",
  },
  POLICY_FELL_THROUGH: {
    status: 500,
    reason: "A cloud endpoint's on_http_request finished without a terminating action.",
  },
  POLICY_RUNTIME_ERROR: {
    status: 500,
    reason:
      'A rule expression, bucket key or `${}` interpolation failed at runtime (a missing key, an empty list); the request fails closed.',
  },
  FORWARD_TARGET_OFFLINE: {
    status: 502,
    reason: 'forward-internal named an internal endpoint that does not exist or has no upstream.',
  },
  ENDPOINT_OFFLINE: {
    status: 502,
    reason:
      'The agent endpoint exists but no agent session serving it is connected to this data plane (the agent is offline).',
  },
  FORWARD_TARGET_INVALID: {
    status: 502,
    reason: 'forward-internal produced a URL that is not an http(s) `.internal` URL.',
  },
  FORWARD_HOP_LIMIT: { status: 508, reason: 'forward-internal chained through more internal endpoints than allowed.' },
  LOOP_DETECTED: {
    status: 508,
    reason: 'The request already passed this data plane (its CDN-Loop id) or too many proxies: a forwarding loop.',
  },
  UPSTREAM_IS_GATEWAY: {
    status: 508,
    reason: "The upstream address is one of the gateway's own listeners (a forwarding loop); it is never dialed.",
  },
  UPSTREAM_FORBIDDEN: {
    status: 502,
    reason: 'The upstream resolved to an address outside the operator allow list (GATEHOUSE_UPSTREAM_ALLOW/DENY).',
  },
  UPSTREAM_UNAVAILABLE: {
    status: 502,
    reason: "The internal endpoint's upstream refused the connection or failed mid-response.",
  },
  UPSTREAM_TIMEOUT: { status: 504, reason: 'The upstream did not answer within the configured timeout.' },
  RATE_LIMITED: {
    status: 429,
    reason: 'A rate-limit action found its bucket full; `retry-after` says when to try again.',
  },
  IP_RESTRICTED: { status: 403, reason: 'restrict-ips denied the client IP.' },
  BASIC_AUTH_FAILED: { status: 401, reason: 'basic-auth found no credentials or wrong ones.' },
  JWT_VALIDATION_FAILED: { status: 401, reason: 'jwt-validation found no token, or the token failed verification.' },
  CIRCUIT_BREAKER_OPEN: { status: 503, reason: 'circuit-breaker is open after too many upstream errors.' },
  WEBHOOK_VERIFICATION_FAILED: { status: 403, reason: 'verify-webhook could not verify the request signature.' },
  REQUEST_BODY_TOO_LARGE: {
    status: 413,
    reason: 'An action needed the request body and it exceeded the buffering limit.',
  },
  POLICY_COST_EXCEEDED: {
    status: 500,
    reason:
      'CEL evaluation for the request ran over its step budget or built a string or list over the size caps (README, "Cost limits").',
  },
  EXPECTATION_FAILED: {
    status: 417,
    reason: 'The request carried an `Expect` other than `100-continue`.',
  },
  MCP_HEADER_MISMATCH: {
    status: 400,
    reason: 'The `Mcp-Method`/`Mcp-Name` headers contradict the JSON-RPC body (answered as a JSON-RPC error).',
  },
  MCP_BODY_TOO_LARGE: {
    status: 413,
    reason: 'A JSON request body exceeded `DATAPLANE_MCP_MAX_BODY_BYTES`, so it could not be checked for MCP messages.',
  },
  MCP_BODY_MALFORMED: {
    status: 400,
    reason:
      'A request body a lenient JSON-RPC server could run (trailing data, JSON5 syntax, a member name in another case) is not a message the gateway can judge exactly (answered as a JSON-RPC parse error).',
  },
  MCP_BATCH_TOO_LARGE: {
    status: 400,
    reason:
      'A JSON-RPC batch has more elements than the gateway judges one by one (100, as the MCP SDK servers allow); answered as a JSON-RPC error.',
  },
  MCP_BATCH_SPLIT: {
    status: 400,
    reason: 'The elements of a JSON-RPC batch were sent different ways by the policy (forwarded to different targets).',
  },
  MCP_NOT_ALLOWED: {
    status: 200,
    reason:
      'mcp-tools hides the tool, prompt or resource a call names; the body is a JSON-RPC error (-32602) with its id.',
  },
  MCP_RESPONSE_UNFILTERABLE: {
    status: 502,
    reason: 'mcp-tools could not filter a list response (compressed, or larger than the body limit); it was cut.',
  },
  AUTH_STATE_INVALID: {
    status: 400,
    reason:
      'A sign-in callback (openid-connect, oauth) whose state does not match the flow cookie, or whose flow cookie is missing, expired or tampered with: start again at the protected URL.',
  },
  AUTH_PROVIDER_REFUSED: {
    status: 401,
    reason:
      'The identity provider answered the sign-in with an error, refused the authorization code, or sent an ID token that failed verification (issuer, audience, signature, nonce, lifetime).',
  },
  AUTH_PROVIDER_UNAVAILABLE: {
    status: 502,
    reason:
      "The identity provider's discovery, token, JWKS or userinfo endpoint could not be reached or answered garbage; sign-in fails closed.",
  },
  SECRET_UNAVAILABLE: {
    status: 500,
    reason:
      'A field computed from secrets (basic-auth credentials, jwt-validation settings) could not be computed: the secret is missing on this data plane or its value does not fit the field.',
  },
  HTTP_REQUEST_FAILED: {
    status: 502,
    reason:
      'An http-request action with `on_error: halt` got no response (timeout, refused target, body too large, …); `actions.ngrok.http_request.error.code` says which.',
  },
  AI_GATEWAY_PATH_UNSUPPORTED: {
    status: 404,
    reason: 'ai-gateway serves POST /v1/chat/completions (OpenAI) and /v1/messages (Anthropic) only.',
  },
  AI_GATEWAY_METHOD_NOT_ALLOWED: { status: 405, reason: 'ai-gateway takes POST requests only.' },
  AI_GATEWAY_BAD_REQUEST: { status: 400, reason: 'The ai-gateway request body is not a JSON object.' },
  AI_GATEWAY_INPUT_TOO_LARGE: {
    status: 400,
    reason: "The request's estimated input tokens exceed max_input_tokens, or every candidate model's context window.",
  },
  AI_GATEWAY_MODEL_REQUIRED: {
    status: 400,
    reason: 'The request names no model (or ngrok/auto) and the policy has no model_selection strategy.',
  },
  AI_GATEWAY_MODEL_NOT_ALLOWED: {
    status: 400,
    reason:
      'No requested model can be used: unknown without a provider prefix, not configured (only_allow_configured_*), or of a provider that does not speak the path’s format.',
  },
  AI_GATEWAY_NO_MODEL_SELECTED: { status: 400, reason: 'Every model_selection strategy returned no model.' },
  AI_GATEWAY_UNAVAILABLE: { status: 502, reason: 'This gateway process cannot reach model providers.' },
  AI_GATEWAY_TIMEOUT: {
    status: 504,
    reason: 'No provider attempt answered within per_request_timeout, or total_timeout ran out.',
  },
  AI_GATEWAY_RATE_LIMITED: { status: 429, reason: 'Every provider attempt answered 429.' },
  AI_GATEWAY_PROVIDERS_FAILED: {
    status: 502,
    reason: 'Every provider attempt failed (connection, 401/403, 429, 5xx or timeout); the request log lists them.',
  },
  GATEWAY_ERROR: { status: 500, reason: 'An unexpected error in the gateway; the request id is in the log.' },
} as const satisfies Record<string, { status: number; reason: string }>;

export type RuntimeErrorCode = keyof typeof runtimeErrorCodes;

/** The response header that carries a runtime error code; an upstream can never set it. */
export const errorCodeHeader = 'gatehouse-error-code';

export type IssueSeverity = 'error' | 'warning';

/** One problem found in a policy, positioned so an editor can put a marker on it (line and column are 1-based). */
export interface PolicyIssue {
  code: ValidationErrorCode;
  message: string;
  /** JSON-pointer-like location in the document, e.g. `/on_http_request/0/actions/1/config/capacity`. */
  path: string;
  line: number;
  column: number;
  severity: IssueSeverity;
}
