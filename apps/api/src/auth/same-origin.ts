import type { Request } from 'express';
import { AppError } from '../common/app-error';
import { ErrorCode } from '../common/error-codes';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * CSRF protection for requests a browser authenticates by itself (the session cookie) and for login/setup (which set
 * it): a state-changing request must come from the dashboard's own origin. SameSite=Lax alone is not enough — it still
 * sends the cookie on requests from sibling subdomains (same *site*), and on top-level POSTs in some browsers.
 *
 * Browsers mark every request with `Sec-Fetch-Site` (which page script cannot forge); when it is present it decides:
 * only `same-origin` (and `none`, a request the user made directly) pass. Older browsers send only `Origin` on
 * non-GET requests, which must then equal this server's own origin (scheme and host as Express sees them: behind a
 * trusted proxy, from X-Forwarded-Proto/-Host). A request with neither header does not come from a browser page
 * (curl, the CLI, scripts) and cannot be forged cross-site, so it passes. Body-less POSTs (logout, restore) included.
 */
export function assertSameOrigin(request: Request): void {
  if (SAFE_METHODS.has(request.method)) return;
  const site = request.get('sec-fetch-site');
  if (site !== undefined) {
    if (site === 'same-origin' || site === 'none') return;
    throw refused(`a ${site} request`);
  }
  const origin = request.get('origin');
  if (origin === undefined) return;
  const own = `${request.protocol}://${request.host}`;
  if (origin.toLowerCase() !== own.toLowerCase()) throw refused(`a request from ${origin}`);
}

function refused(what: string): AppError {
  return new AppError(
    ErrorCode.ORIGIN_NOT_ALLOWED,
    `Refused ${what}: a browser session may only change things from the dashboard's own origin (use an API key for other clients)`,
  );
}
