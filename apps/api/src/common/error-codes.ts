// Every error the API returns carries one of these stable codes (DESIGN.md §5 error body). Add a code here with a
// one-line reason; httpStatusForErrorCode's exhaustive switch makes the build fail until it is mapped to a status.

export const ErrorCode = {
  /** The request body, query or path failed schema validation; `details` lists each problem. */
  VALIDATION_FAILED: 'VALIDATION_FAILED',
  /** The body is not valid JSON. */
  MALFORMED_JSON: 'MALFORMED_JSON',
  /** The body exceeds the size limit. */
  PAYLOAD_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  /** The Traffic Policy does not validate; `details` lists each issue with line and column. */
  POLICY_INVALID: 'POLICY_INVALID',
  /** The policy's test cases do not all pass (422); `details` has one entry per failing case, the message the report. */
  POLICY_TESTS_FAILED: 'POLICY_TESTS_FAILED',
  /** A cloud endpoint was created or updated without a policy. */
  POLICY_REQUIRED: 'POLICY_REQUIRED',
  /** The endpoint URL breaks a rule (scheme, host suffix, path, port). */
  ENDPOINT_URL_INVALID: 'ENDPOINT_URL_INVALID',
  /** Another endpoint already has this URL. */
  ENDPOINT_URL_TAKEN: 'ENDPOINT_URL_TAKEN',
  /** The URL scheme (http/https) is fixed once an endpoint exists. */
  ENDPOINT_SCHEME_IMMUTABLE: 'ENDPOINT_SCHEME_IMMUTABLE',
  /** upstream_url missing, invalid, or given for a cloud endpoint. */
  ENDPOINT_UPSTREAM_INVALID: 'ENDPOINT_UPSTREAM_INVALID',
  /** upstream_url (or a JWKS URL) is one of the gateway's own listeners: every request would loop through it. */
  UPSTREAM_IS_GATEWAY: 'UPSTREAM_IS_GATEWAY',
  /** upstream_url (or a JWKS URL) points where GATEHOUSE_UPSTREAM_ALLOW / _DENY do not allow (link-local, metadata…). */
  UPSTREAM_FORBIDDEN: 'UPSTREAM_FORBIDDEN',
  /** request_log_capture turned on for an internal endpoint: only the cloud endpoint a request arrives at captures. */
  ENDPOINT_CAPTURE_UNSUPPORTED: 'ENDPOINT_CAPTURE_UNSUPPORTED',
  ENDPOINT_NOT_FOUND: 'ENDPOINT_NOT_FOUND',
  /** PATCH, DELETE or a policy save on an agent endpoint: the agent session that declared it owns it. */
  ENDPOINT_OWNED_BY_AGENT: 'ENDPOINT_OWNED_BY_AGENT',
  AGENT_SESSION_NOT_FOUND: 'AGENT_SESSION_NOT_FOUND',
  POLICY_VERSION_NOT_FOUND: 'POLICY_VERSION_NOT_FOUND',
  /** Another save claimed the same version number too many times in a row; retry. */
  POLICY_VERSION_CONFLICT: 'POLICY_VERSION_CONFLICT',
  /** Promote or discard of an endpoint that has no shadow policy. */
  SHADOW_POLICY_NOT_FOUND: 'SHADOW_POLICY_NOT_FOUND',
  /** Promote named a shadow (sha256) that another user replaced or discarded meanwhile. */
  SHADOW_POLICY_CHANGED: 'SHADOW_POLICY_CHANGED',
  IP_CATEGORY_NOT_FOUND: 'IP_CATEGORY_NOT_FOUND',
  /** Built-in IP categories are read-only. */
  IP_CATEGORY_BUILTIN: 'IP_CATEGORY_BUILTIN',
  /** POST /api/ip-categories with a name that is taken (custom or built-in); PUT replaces on purpose. */
  IP_CATEGORY_EXISTS: 'IP_CATEGORY_EXISTS',
  VAULT_NOT_FOUND: 'VAULT_NOT_FOUND',
  /** A vault with that name exists. */
  VAULT_EXISTS: 'VAULT_EXISTS',
  /** The vault (or secret) is named by the active policy of an endpoint; `details` lists the endpoints. */
  VAULT_IN_USE: 'VAULT_IN_USE',
  SECRET_NOT_FOUND: 'SECRET_NOT_FOUND',
  SECRET_IN_USE: 'SECRET_IN_USE',
  /** The new value of a secret does not fit a field an active policy computes from it; nothing was changed. */
  SECRET_ROTATION_BREAKS_POLICY: 'SECRET_ROTATION_BREAKS_POLICY',
  /** GATEHOUSE_SECRETS_KEY is not configured, so secrets cannot be written or read. */
  SECRETS_KEY_MISSING: 'SECRETS_KEY_MISSING',
  USER_NOT_FOUND: 'USER_NOT_FOUND',
  /** Another user already has this email. */
  USER_EMAIL_TAKEN: 'USER_EMAIL_TAKEN',
  /** The change would leave no admin. */
  LAST_ADMIN: 'LAST_ADMIN',
  API_KEY_NOT_FOUND: 'API_KEY_NOT_FOUND',
  AUTHTOKEN_NOT_FOUND: 'AUTHTOKEN_NOT_FOUND',
  REQUEST_LOG_NOT_FOUND: 'REQUEST_LOG_NOT_FOUND',
  /** No valid session cookie, API key or data-plane token. */
  UNAUTHENTICATED: 'UNAUTHENTICATED',
  /** Wrong email or password. */
  INVALID_CREDENTIALS: 'INVALID_CREDENTIALS',
  /** Authenticated, but the role does not allow this. */
  FORBIDDEN: 'FORBIDDEN',
  /** First-run setup was already done (a user exists). */
  SETUP_ALREADY_DONE: 'SETUP_ALREADY_DONE',
  /** Too many login attempts from this client address, or for this email from it; see `retry-after`. */
  LOGIN_RATE_LIMITED: 'LOGIN_RATE_LIMITED',
  /** Too many password hashes queued (login flood); nothing was checked, retry after `retry-after`. */
  PASSWORD_HASHING_BUSY: 'PASSWORD_HASHING_BUSY',
  /** Too many policy replays are running in this API process; nothing was replayed, retry in a few seconds. */
  REPLAY_BUSY: 'REPLAY_BUSY',
  /** The new password is on the list of the most common passwords. */
  PASSWORD_TOO_COMMON: 'PASSWORD_TOO_COMMON',
  /** A cookie-authenticated (or login/setup) state change came from another origin (CSRF protection). */
  ORIGIN_NOT_ALLOWED: 'ORIGIN_NOT_ALLOWED',
  /** The requested config revision was pruned from the change log; fetch a full snapshot. */
  CONFIG_REVISION_GONE: 'CONFIG_REVISION_GONE',
  /** No route matches the method and path. */
  ROUTE_NOT_FOUND: 'ROUTE_NOT_FOUND',
  /** A uniqueness constraint failed (generic; specific codes are preferred). */
  CONFLICT: 'CONFLICT',
  /** The record does not exist (generic; specific codes are preferred). */
  NOT_FOUND: 'NOT_FOUND',
  /** A dependency (database, Redis) is unavailable. */
  SERVICE_UNAVAILABLE: 'SERVICE_UNAVAILABLE',
  /** A bug. The body carries only the request id; the log has the rest. */
  INTERNAL_ERROR: 'INTERNAL_ERROR',
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export function httpStatusForErrorCode(code: ErrorCode): number {
  switch (code) {
    case ErrorCode.VALIDATION_FAILED:
    case ErrorCode.MALFORMED_JSON:
    case ErrorCode.POLICY_INVALID:
    case ErrorCode.POLICY_REQUIRED:
    case ErrorCode.ENDPOINT_URL_INVALID:
    case ErrorCode.ENDPOINT_SCHEME_IMMUTABLE:
    case ErrorCode.ENDPOINT_UPSTREAM_INVALID:
    case ErrorCode.UPSTREAM_IS_GATEWAY:
    case ErrorCode.UPSTREAM_FORBIDDEN:
    case ErrorCode.ENDPOINT_CAPTURE_UNSUPPORTED:
    case ErrorCode.PASSWORD_TOO_COMMON:
      return 400;
    case ErrorCode.UNAUTHENTICATED:
    case ErrorCode.INVALID_CREDENTIALS:
      return 401;
    case ErrorCode.FORBIDDEN:
    case ErrorCode.IP_CATEGORY_BUILTIN:
    case ErrorCode.ORIGIN_NOT_ALLOWED:
      return 403;
    case ErrorCode.ENDPOINT_NOT_FOUND:
    case ErrorCode.POLICY_VERSION_NOT_FOUND:
    case ErrorCode.SHADOW_POLICY_NOT_FOUND:
    case ErrorCode.IP_CATEGORY_NOT_FOUND:
    case ErrorCode.VAULT_NOT_FOUND:
    case ErrorCode.SECRET_NOT_FOUND:
    case ErrorCode.USER_NOT_FOUND:
    case ErrorCode.API_KEY_NOT_FOUND:
    case ErrorCode.AUTHTOKEN_NOT_FOUND:
    case ErrorCode.AGENT_SESSION_NOT_FOUND:
    case ErrorCode.REQUEST_LOG_NOT_FOUND:
    case ErrorCode.ROUTE_NOT_FOUND:
    case ErrorCode.NOT_FOUND:
      return 404;
    case ErrorCode.ENDPOINT_URL_TAKEN:
    case ErrorCode.ENDPOINT_OWNED_BY_AGENT:
    case ErrorCode.POLICY_VERSION_CONFLICT:
    case ErrorCode.SHADOW_POLICY_CHANGED:
    case ErrorCode.USER_EMAIL_TAKEN:
    case ErrorCode.IP_CATEGORY_EXISTS:
    case ErrorCode.VAULT_EXISTS:
    case ErrorCode.VAULT_IN_USE:
    case ErrorCode.SECRET_IN_USE:
    case ErrorCode.SECRET_ROTATION_BREAKS_POLICY:
    case ErrorCode.LAST_ADMIN:
    case ErrorCode.SETUP_ALREADY_DONE:
    case ErrorCode.CONFLICT:
      return 409;
    case ErrorCode.CONFIG_REVISION_GONE:
      return 410;
    case ErrorCode.PAYLOAD_TOO_LARGE:
      return 413;
    case ErrorCode.LOGIN_RATE_LIMITED:
      return 429;
    case ErrorCode.POLICY_TESTS_FAILED:
      return 422;
    case ErrorCode.INTERNAL_ERROR:
      return 500;
    case ErrorCode.SERVICE_UNAVAILABLE:
    case ErrorCode.SECRETS_KEY_MISSING:
    case ErrorCode.PASSWORD_HASHING_BUSY:
    case ErrorCode.REPLAY_BUSY:
      return 503;
    default: {
      const unmapped: never = code;
      throw new Error(`unmapped error code ${String(unmapped)}`);
    }
  }
}
