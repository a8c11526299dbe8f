import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import {
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiTags,
  ApiOperation,
} from '@nestjs/swagger';
import type { RequestContext } from '../auth/actor';
import { Context, RequireRole } from '../auth/auth.decorators';
import { ErrorResponseSchema } from '@gatehouse/contracts';
import {
  ApiKeyListResponseSchema,
  type ApiKeyListResponse,
  CreateApiKeyBodySchema,
  type CreateApiKeyInput,
  CreatedApiKeyResponseSchema,
  type CreatedApiKeyResponse,
  ListApiKeysQuerySchema,
} from './api-keys.dto';
import { ApiKeysService } from './api-keys.service';

@ApiTags('api keys')
@RequireRole('admin')
@Controller('api-keys')
export class ApiKeysController {
  constructor(private readonly apiKeys: ApiKeysService) {}

  @ApiOperation({ summary: 'List API keys (secrets are never shown again)' })
  @Get()
  @ApiOkResponse({ standardSchema: ApiKeyListResponseSchema })
  listApiKeys(
    @Query({ schema: ListApiKeysQuerySchema }) query: { limit: number; before_id?: string },
  ): Promise<ApiKeyListResponse> {
    return this.apiKeys.listApiKeys(query);
  }

  @ApiOperation({ summary: 'Create an API key; the secret is returned once' })
  @Post()
  @ApiCreatedResponse({
    description: 'The secret is in this response only',
    standardSchema: CreatedApiKeyResponseSchema,
  })
  createApiKey(
    @Context() context: RequestContext,
    @Body({ schema: CreateApiKeyBodySchema }) body: CreateApiKeyInput,
  ): Promise<CreatedApiKeyResponse> {
    return this.apiKeys.createApiKey(context, body);
  }

  @ApiOperation({ summary: 'Revoke an API key' })
  @Delete(':id')
  @HttpCode(204)
  @ApiNoContentResponse({ description: 'Revoked' })
  @ApiNotFoundResponse({ description: 'API_KEY_NOT_FOUND', standardSchema: ErrorResponseSchema })
  deleteApiKey(@Context() context: RequestContext, @Param('id') id: string): Promise<void> {
    return this.apiKeys.deleteApiKey(context, id);
  }
}
