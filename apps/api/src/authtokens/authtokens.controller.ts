import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import {
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import { ErrorResponseSchema } from '@gatehouse/contracts';
import type { RequestContext } from '../auth/actor';
import { Context, RequireRole } from '../auth/auth.decorators';
import {
  AuthtokenListResponseSchema,
  type AuthtokenListResponse,
  AuthtokenResponseSchema,
  type AuthtokenResponse,
  CreateAuthtokenBodySchema,
  type CreateAuthtokenInput,
  CreatedAuthtokenResponseSchema,
  type CreatedAuthtokenResponse,
  ListAuthtokensQuerySchema,
  type ListAuthtokensQuery,
} from './authtokens.dto';
import { AuthtokensService } from './authtokens.service';

/** Authtokens for gatehouse-agent (DESIGN.md §5 "agents"). Viewers read; editors create and revoke. */
@ApiTags('authtokens')
@Controller('authtokens')
export class AuthtokensController {
  constructor(private readonly authtokens: AuthtokensService) {}

  @ApiOperation({ summary: 'List agent authtokens, newest first (secrets are never shown again)' })
  @Get()
  @RequireRole('viewer')
  @ApiOkResponse({ standardSchema: AuthtokenListResponseSchema })
  listAuthtokens(
    @Query({ schema: ListAuthtokensQuerySchema }) query: ListAuthtokensQuery,
  ): Promise<AuthtokenListResponse> {
    return this.authtokens.listAuthtokens(query);
  }

  @ApiOperation({ summary: 'Get one authtoken' })
  @Get(':id')
  @RequireRole('viewer')
  @ApiOkResponse({ standardSchema: AuthtokenResponseSchema })
  @ApiNotFoundResponse({ description: 'AUTHTOKEN_NOT_FOUND', standardSchema: ErrorResponseSchema })
  getAuthtoken(@Param('id') id: string): Promise<AuthtokenResponse> {
    return this.authtokens.getAuthtoken(id);
  }

  @ApiOperation({ summary: 'Create an authtoken for gatehouse-agent; the secret is returned once' })
  @Post()
  @RequireRole('editor')
  @ApiCreatedResponse({
    description: 'The secret is in this response only',
    standardSchema: CreatedAuthtokenResponseSchema,
  })
  createAuthtoken(
    @Context() context: RequestContext,
    @Body({ schema: CreateAuthtokenBodySchema }) body: CreateAuthtokenInput,
  ): Promise<CreatedAuthtokenResponse> {
    return this.authtokens.createAuthtoken(context, body);
  }

  @ApiOperation({ summary: 'Revoke an authtoken (idempotent); agents presenting it are refused from then on' })
  @Delete(':id')
  @RequireRole('editor')
  @HttpCode(204)
  @ApiNoContentResponse({ description: 'Revoked (or already revoked)' })
  @ApiNotFoundResponse({ description: 'AUTHTOKEN_NOT_FOUND', standardSchema: ErrorResponseSchema })
  revokeAuthtoken(@Context() context: RequestContext, @Param('id') id: string): Promise<void> {
    return this.authtokens.revokeAuthtoken(context, id);
  }
}
