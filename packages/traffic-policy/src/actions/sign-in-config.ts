import { z } from 'zod';
import type { ActionCompileContext } from '../action.js';
import { parseDuration } from '../duration.js';
import type { DocumentPath } from '../parse.js';

/** Config fields openid-connect and oauth share, with ngrok's names; and how both compute the ones from secrets. */

const durationField = (description: string) =>
  z
    .string()
    .refine((text) => (parseDuration(text) ?? 0) > 0, 'must be a positive duration such as 30m, 8h or 168h')
    .optional()
    .describe(description);

export const signInFields = {
  auth_id: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be 1–64 letters, digits, `-` or `_` (it names the session cookie)')
    .optional()
    .describe('Names this sign-in: the session cookie, and `?auth_id=` on /ngrok/login and /ngrok/logout.'),
  client_id: z.string().min(1).max(512).describe("Your application's client ID; `${}` may use secrets.get."),
  client_secret: z
    .string()
    .min(1)
    .max(2048)
    .optional()
    .describe("Your application's client secret; `${secrets.get('vault', 'name')}` keeps it in a vault."),
  scopes: z
    .array(z.string().regex(/^[\x21\x23-\x5b\x5d-\x7e]+$/, 'must be one scope token (no spaces or quotes)'))
    .max(20)
    .optional()
    .describe('Scopes requested in addition to the ones the action always asks for.'),
  authz_url_params: z
    .record(z.string().min(1).max(128), z.string().max(2048))
    .refine((params) => Object.keys(params).length <= 20, 'at most 20 parameters')
    .optional()
    .describe('Extra query parameters for the authorization endpoint URL (e.g. `hd` or `login_hint`).'),
  max_session_duration: durationField('The longest a session lasts, however active (default 168h).'),
  idle_session_duration: durationField('A session unused this long ends (default: no idle limit).'),
  idle_session_timeout: durationField('The same as idle_session_duration (the name ngrok uses for oauth).'),
  userinfo_refresh_interval: durationField(
    "How often the user's details are read again from the provider's userinfo endpoint (default: never).",
  ),
  allow_cors_preflight: z
    .boolean()
    .default(false)
    .describe('Let CORS preflight requests (OPTIONS with Access-Control-Request-Method) through without a session.'),
  auth_cookie_domain: z
    .string()
    .regex(/^\.?[A-Za-z0-9.-]{1,253}$/, 'must be a domain name')
    .optional()
    .describe("The session cookie's Domain attribute, to share a session with sibling hosts."),
};

export const defaultMaxSessionMs = 168 * 3_600_000;

export interface SessionTimes {
  maxSessionMs: number;
  idleSessionMs: number | undefined;
  userinfoRefreshMs: number | undefined;
}

export function sessionTimes(config: {
  max_session_duration?: string | undefined;
  idle_session_duration?: string | undefined;
  idle_session_timeout?: string | undefined;
  userinfo_refresh_interval?: string | undefined;
}): SessionTimes {
  const idle = config.idle_session_duration ?? config.idle_session_timeout;
  return {
    maxSessionMs:
      config.max_session_duration === undefined ? defaultMaxSessionMs : parseDuration(config.max_session_duration)!,
    idleSessionMs: idle === undefined ? undefined : parseDuration(idle),
    userinfoRefreshMs:
      config.userinfo_refresh_interval === undefined ? undefined : parseDuration(config.userinfo_refresh_interval),
  };
}

/** Computes `${}` fields once, when the config is applied; the first reason one cannot be had is kept. */
export class ConstantFields {
  unavailable: string | undefined;
  constructor(private readonly context: ActionCompileContext) {}
  get(text: string, field: DocumentPath): string {
    const computed = this.context.constant(text, field);
    if (computed.known) return computed.text;
    this.unavailable ??= computed.reason;
    return '';
  }
}

export function uniqueScopes(...lists: readonly (readonly string[])[]): string[] {
  return [...new Set(lists.flat())];
}
