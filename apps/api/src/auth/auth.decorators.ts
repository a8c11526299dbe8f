import { applyDecorators, createParamDecorator, type ExecutionContext, SetMetadata } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiCookieAuth,
  ApiForbiddenResponse,
  ApiSecurity,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import { ErrorResponseSchema } from '@gatehouse/contracts';
import { type AuthenticatedRequest, type RequestContext, requestContextOf, type Role } from './actor';

export const AUTH_POLICY_KEY = 'gatehouse:auth-policy';

/** How a route is protected. Routes without one are refused (deny by default). */
export type AuthPolicy = { kind: 'public' } | { kind: 'dataplane' } | { kind: 'role'; role: Role };

export const SESSION_SECURITY = 'session';
export const API_KEY_SECURITY = 'api_key';
export const DATAPLANE_SECURITY = 'dataplane_token';

/** No authentication (login, first-run setup, health). */
export const Public = (): MethodDecorator & ClassDecorator =>
  applyDecorators(SetMetadata(AUTH_POLICY_KEY, { kind: 'public' } satisfies AuthPolicy), ApiSecurity({}));

/** A session cookie or API key whose role is at least `role`. */
export const RequireRole = (role: Role): MethodDecorator & ClassDecorator =>
  applyDecorators(
    SetMetadata(AUTH_POLICY_KEY, { kind: 'role', role } satisfies AuthPolicy),
    ApiCookieAuth(SESSION_SECURITY),
    ApiBearerAuth(API_KEY_SECURITY),
    ApiUnauthorizedResponse({ description: 'No valid session or API key', standardSchema: ErrorResponseSchema }),
    ApiForbiddenResponse({
      description: `FORBIDDEN: requires role ${role} or higher; ORIGIN_NOT_ALLOWED: a session-cookie request that changes state from another origin`,
      standardSchema: ErrorResponseSchema,
    }),
  );

/** The shared data-plane token (GATEHOUSE_DATAPLANE_TOKEN) as a bearer token. */
export const DataplaneAuth = (): MethodDecorator & ClassDecorator =>
  applyDecorators(
    SetMetadata(AUTH_POLICY_KEY, { kind: 'dataplane' } satisfies AuthPolicy),
    ApiBearerAuth(DATAPLANE_SECURITY),
    ApiUnauthorizedResponse({ description: 'Missing or wrong data-plane token', standardSchema: ErrorResponseSchema }),
  );

/** The actor, client IP and request id, for services that record audit events. */
export const Context = createParamDecorator((_data: unknown, context: ExecutionContext): RequestContext =>
  requestContextOf(context.switchToHttp().getRequest<AuthenticatedRequest>()),
);
