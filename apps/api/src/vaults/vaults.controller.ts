import { Body, Controller, Delete, Get, HttpCode, Param, Post, Put, Res } from '@nestjs/common';
import {
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiServiceUnavailableResponse,
  ApiTags,
} from '@nestjs/swagger';
import type { Response } from 'express';
import { ErrorResponseSchema } from '@gatehouse/contracts';
import type { RequestContext } from '../auth/actor';
import { Context, RequireRole } from '../auth/auth.decorators';
import {
  CreateVaultBodySchema,
  type CreateVaultInput,
  PutSecretBodySchema,
  type PutSecretInput,
  SecretListResponseSchema,
  type SecretListResponse,
  SecretNameSchema,
  SecretResponseSchema,
  type SecretResponse,
  VaultListResponseSchema,
  type VaultListResponse,
  VaultNameSchema,
  VaultResponseSchema,
  type VaultResponse,
} from './vaults.dto';
import { VaultsService } from './vaults.service';

const notFound = ApiNotFoundResponse({
  description: 'VAULT_NOT_FOUND or SECRET_NOT_FOUND',
  standardSchema: ErrorResponseSchema,
});

/** Vaults and secrets (issue 15). Values are write-only: no route returns one, and audit events never carry one. */
@ApiTags('secrets')
@Controller('vaults')
export class VaultsController {
  constructor(private readonly vaults: VaultsService) {}

  @ApiOperation({ summary: 'List vaults with their secret names (never values)' })
  @Get()
  @RequireRole('viewer')
  @ApiOkResponse({ standardSchema: VaultListResponseSchema })
  listVaults(): Promise<VaultListResponse> {
    return this.vaults.listVaults();
  }

  @ApiOperation({ summary: 'Create a vault', description: '409 VAULT_EXISTS when the name is taken.' })
  @Post()
  @RequireRole('editor')
  @ApiCreatedResponse({ description: 'Created', standardSchema: VaultResponseSchema })
  @ApiConflictResponse({ description: 'VAULT_EXISTS', standardSchema: ErrorResponseSchema })
  createVault(
    @Context() context: RequestContext,
    @Body({ schema: CreateVaultBodySchema }) body: CreateVaultInput,
  ): Promise<VaultResponse> {
    return this.vaults.createVault(context, body);
  }

  @ApiOperation({ summary: 'Get a vault with its secret names and metadata (never values)' })
  @Get(':vault')
  @RequireRole('viewer')
  @ApiOkResponse({ standardSchema: VaultResponseSchema })
  @notFound
  getVault(@Param('vault', { schema: VaultNameSchema }) vault: string): Promise<VaultResponse> {
    return this.vaults.getVault(vault);
  }

  @ApiOperation({
    summary: 'Delete a vault and its secrets',
    description: '409 VAULT_IN_USE (details list the endpoints) while an active policy names one of its secrets.',
  })
  @Delete(':vault')
  @RequireRole('editor')
  @HttpCode(204)
  @ApiNoContentResponse({ description: 'Deleted' })
  @ApiConflictResponse({ description: 'VAULT_IN_USE', standardSchema: ErrorResponseSchema })
  @notFound
  deleteVault(
    @Context() context: RequestContext,
    @Param('vault', { schema: VaultNameSchema }) vault: string,
  ): Promise<void> {
    return this.vaults.deleteVault(context, vault);
  }

  @ApiOperation({ summary: "List a vault's secrets (names, description, who and when; never values)" })
  @Get(':vault/secrets')
  @RequireRole('viewer')
  @ApiOkResponse({ standardSchema: SecretListResponseSchema })
  @notFound
  listSecrets(@Param('vault', { schema: VaultNameSchema }) vault: string): Promise<SecretListResponse> {
    return this.vaults.listSecrets(vault);
  }

  @ApiOperation({ summary: "Get a secret's metadata (never its value)" })
  @Get(':vault/secrets/:name')
  @RequireRole('viewer')
  @ApiOkResponse({ standardSchema: SecretResponseSchema })
  @notFound
  getSecret(
    @Param('vault', { schema: VaultNameSchema }) vault: string,
    @Param('name', { schema: SecretNameSchema }) name: string,
  ): Promise<SecretResponse> {
    return this.vaults.getSecret(vault, name);
  }

  @ApiOperation({
    summary: 'Create or rotate a secret',
    description:
      'The value is sealed (AES-256-GCM) and never returned. 201 when created, 200 when rotated; a rotation re-publishes every endpoint whose policy names the secret. A rotation is re-validated first: 409 SECRET_ROTATION_BREAKS_POLICY (details: endpoint, position, why; never the value) when the new value does not fit a field an active policy computes from it.',
  })
  @Put(':vault/secrets/:name')
  @RequireRole('editor')
  @ApiConflictResponse({ description: 'SECRET_ROTATION_BREAKS_POLICY', standardSchema: ErrorResponseSchema })
  @ApiOkResponse({ description: 'Rotated', standardSchema: SecretResponseSchema })
  @ApiCreatedResponse({ description: 'Created', standardSchema: SecretResponseSchema })
  @ApiServiceUnavailableResponse({ description: 'SECRETS_KEY_MISSING', standardSchema: ErrorResponseSchema })
  @notFound
  async putSecret(
    @Context() context: RequestContext,
    @Param('vault', { schema: VaultNameSchema }) vault: string,
    @Param('name', { schema: SecretNameSchema }) name: string,
    @Body({ schema: PutSecretBodySchema }) body: PutSecretInput,
    @Res({ passthrough: true }) response: Response,
  ): Promise<SecretResponse> {
    const { secret, created } = await this.vaults.putSecret(context, vault, name, body);
    response.status(created ? 201 : 200);
    return secret;
  }

  @ApiOperation({
    summary: 'Delete a secret',
    description: '409 SECRET_IN_USE (details list the endpoints) while an active policy names it.',
  })
  @Delete(':vault/secrets/:name')
  @RequireRole('editor')
  @HttpCode(204)
  @ApiNoContentResponse({ description: 'Deleted' })
  @ApiConflictResponse({ description: 'SECRET_IN_USE', standardSchema: ErrorResponseSchema })
  @notFound
  deleteSecret(
    @Context() context: RequestContext,
    @Param('vault', { schema: VaultNameSchema }) vault: string,
    @Param('name', { schema: SecretNameSchema }) name: string,
  ): Promise<void> {
    return this.vaults.deleteSecret(context, vault, name);
  }
}
