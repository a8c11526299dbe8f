import { Body, Controller, Get, HttpCode, Post, Req, Res } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiConflictResponse,
  ApiForbiddenResponse,
  ApiServiceUnavailableResponse,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiTags,
  ApiTooManyRequestsResponse,
  ApiUnauthorizedResponse,
  ApiOperation,
} from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { ErrorResponseSchema } from '@gatehouse/contracts';
import { type AuthenticatedRequest, type RequestContext } from './actor';
import { Context, Public, RequireRole } from './auth.decorators';
import {
  LoginBodySchema,
  type LoginInput,
  MeResponseSchema,
  type MeResponse,
  SessionResponseSchema,
  type SessionResponse,
  SetupBodySchema,
  type SetupInput,
  SetupStatusResponseSchema,
  type SetupStatusResponse,
} from './auth.dto';
import { AuthService } from './auth.service';
import { clearSessionCookie, setSessionCookie } from './session-cookie';

@ApiTags('auth')
@Controller('auth')
export class AuthController {
  constructor(private readonly auth: AuthService) {}

  @ApiOperation({ summary: 'Whether first-run setup is still open' })
  @Get('setup')
  @Public()
  @ApiOkResponse({ description: 'Whether first-run setup is still open', standardSchema: SetupStatusResponseSchema })
  getSetupStatus(): Promise<SetupStatusResponse> {
    return this.auth.getSetupStatus();
  }

  @ApiOperation({ summary: 'First-run setup: create the first admin and log in' })
  @Post('setup')
  @Public()
  @ApiCreatedResponse({
    description: 'The first admin, logged in (session cookie set)',
    standardSchema: SessionResponseSchema,
  })
  @ApiConflictResponse({ description: 'SETUP_ALREADY_DONE', standardSchema: ErrorResponseSchema })
  @ApiBadRequestResponse({ description: 'VALIDATION_FAILED, PASSWORD_TOO_COMMON', standardSchema: ErrorResponseSchema })
  @ApiForbiddenResponse({
    description: 'ORIGIN_NOT_ALLOWED (sent from another origin)',
    standardSchema: ErrorResponseSchema,
  })
  async setup(
    @Context() context: RequestContext,
    @Body({ schema: SetupBodySchema }) body: SetupInput,
    @Req() request: Request,
    @Res({ passthrough: true }) response: Response,
  ): Promise<SessionResponse> {
    const session = await this.auth.setup(context, body, request.get('user-agent') ?? null);
    setSessionCookie(request, response, session.token, session.expiresAt);
    return { user: session.user };
  }

  @ApiOperation({ summary: 'Log in with email and password (sets the session cookie)' })
  @Post('login')
  @Public()
  @HttpCode(200)
  @ApiOkResponse({ description: 'Logged in; the session cookie is set', standardSchema: SessionResponseSchema })
  @ApiUnauthorizedResponse({ description: 'INVALID_CREDENTIALS', standardSchema: ErrorResponseSchema })
  @ApiTooManyRequestsResponse({
    description: 'LOGIN_RATE_LIMITED (per client address, or per address and email), with retry-after',
    standardSchema: ErrorResponseSchema,
  })
  @ApiServiceUnavailableResponse({
    description: 'PASSWORD_HASHING_BUSY (too many password checks queued), with retry-after',
    standardSchema: ErrorResponseSchema,
  })
  @ApiForbiddenResponse({
    description: 'ORIGIN_NOT_ALLOWED (sent from another origin)',
    standardSchema: ErrorResponseSchema,
  })
  async login(
    @Context() context: RequestContext,
    @Body({ schema: LoginBodySchema }) body: LoginInput,
    @Req() request: Request,
    @Res({ passthrough: true }) response: Response,
  ): Promise<SessionResponse> {
    const session = await this.auth.login(context, body, request.get('user-agent') ?? null);
    setSessionCookie(request, response, session.token, session.expiresAt);
    return { user: session.user };
  }

  @ApiOperation({ summary: 'End the current session' })
  @Post('logout')
  @RequireRole('viewer')
  @HttpCode(204)
  @ApiNoContentResponse({ description: 'The session ends and the cookie is cleared' })
  async logout(@Req() request: AuthenticatedRequest, @Res({ passthrough: true }) response: Response): Promise<void> {
    await this.auth.logout(request.actor);
    clearSessionCookie(request, response);
  }

  @ApiOperation({ summary: 'The current user or API key' })
  @Get('me')
  @RequireRole('viewer')
  @ApiOkResponse({ standardSchema: MeResponseSchema })
  me(@Req() request: AuthenticatedRequest): Promise<MeResponse> {
    if (!request.actor) throw new Error('the auth guard did not set an actor');
    return this.auth.describeActor(request.actor);
  }
}
