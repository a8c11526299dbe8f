import { type CanActivate, type ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { AUTHTOKEN_PREFIX } from '../authtokens/authtokens.service';
import { AppError } from '../common/app-error';
import { ErrorCode } from '../common/error-codes';
import { type AuthenticatedRequest, roleAllows } from './actor';
import { AUTH_POLICY_KEY, type AuthPolicy } from './auth.decorators';
import { AuthService } from './auth.service';
import { assertSameOrigin } from './same-origin';
import { SESSION_COOKIE } from './session-cookie';

function bearerToken(request: AuthenticatedRequest): string | null {
  const header = request.headers.authorization;
  if (!header) return null;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1] ?? null;
}

/**
 * Global guard: every route is refused unless it declares how it is protected (@Public, @DataplaneAuth or
 * @RequireRole). Sessions come from the cookie, API keys from `Authorization: Bearer gh_…`.
 */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly auth: AuthService,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const policy = this.reflector.getAllAndOverride<AuthPolicy | undefined>(AUTH_POLICY_KEY, [
      context.getHandler(),
      context.getClass(),
    ]);
    const request = context.switchToHttp().getRequest<AuthenticatedRequest>();
    if (!policy) throw new AppError(ErrorCode.FORBIDDEN, 'This route declares no access policy');
    switch (policy.kind) {
      case 'public':
        // Login and setup set the session cookie: a cross-site form must not log a browser into someone's account.
        assertSameOrigin(request);
        return true;
      case 'dataplane': {
        const token = bearerToken(request);
        if (!token || !this.auth.isDataplaneToken(token)) {
          throw new AppError(ErrorCode.UNAUTHENTICATED, 'A valid data-plane token is required');
        }
        return true;
      }
      case 'role': {
        const cookies: unknown = (request as { cookies?: unknown }).cookies;
        const sessionToken =
          cookies && typeof cookies === 'object' ? (cookies as Record<string, unknown>)[SESSION_COOKIE] : undefined;
        const token = bearerToken(request);
        const sessionActor =
          typeof sessionToken === 'string' && sessionToken.length > 0
            ? await this.auth.authenticateSession(sessionToken)
            : null;
        // Only the cookie is sent by browsers on their own; a bearer token (API key) is not subject to CSRF.
        if (sessionActor) assertSameOrigin(request);
        const actor = sessionActor ?? (token ? await this.auth.authenticateApiKey(token) : null);
        if (!actor) {
          // An authtoken runs agent sessions and nothing else; say so rather than a bare 401.
          if (token?.startsWith(AUTHTOKEN_PREFIX))
            throw new AppError(
              ErrorCode.UNAUTHENTICATED,
              'That is an agent authtoken: it only runs gatehouse-agent sessions. Use an API key (gh_…) for the API.',
            );
          throw new AppError(ErrorCode.UNAUTHENTICATED, 'Log in or send an API key');
        }
        if (!roleAllows(actor.role, policy.role)) {
          throw new AppError(ErrorCode.FORBIDDEN, `This requires the ${policy.role} role; you are ${actor.role}`);
        }
        request.actor = actor;
        return true;
      }
      default: {
        const unknownPolicy: never = policy;
        throw new Error(`unknown auth policy ${JSON.stringify(unknownPolicy)}`);
      }
    }
  }
}
