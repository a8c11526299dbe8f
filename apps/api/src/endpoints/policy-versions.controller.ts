import { Body, Controller, Get, Param, Post, Query } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiCreatedResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiTags,
  ApiOperation,
} from '@nestjs/swagger';
import type { RequestContext } from '../auth/actor';
import { Context, RequireRole } from '../auth/auth.decorators';
import { ErrorResponseSchema } from '@gatehouse/contracts';
import {
  CreatePolicyVersionBodySchema,
  type CreatePolicyVersionInput,
  ListPolicyVersionsQuerySchema,
  type ListPolicyVersionsQuery,
  PolicyVersionListResponseSchema,
  type PolicyVersionListResponse,
  PolicyVersionParamSchema,
  PolicyVersionResponseSchema,
  type PolicyVersionResponse,
  RestorePolicyVersionBodySchema,
  type RestorePolicyVersionInput,
} from './endpoints.dto';
import { PolicyVersionsService } from './policy-versions.service';

const notFound = ApiNotFoundResponse({
  description: 'ENDPOINT_NOT_FOUND or POLICY_VERSION_NOT_FOUND',
  standardSchema: ErrorResponseSchema,
});

@ApiTags('policy versions')
@Controller('endpoints/:id/policy-versions')
export class PolicyVersionsController {
  constructor(private readonly versions: PolicyVersionsService) {}

  @ApiOperation({ summary: "List an endpoint's policy versions, newest first" })
  @Get()
  @RequireRole('viewer')
  @ApiOkResponse({ description: 'Newest first', standardSchema: PolicyVersionListResponseSchema })
  @notFound
  listPolicyVersions(
    @Param('id') endpointId: string,
    @Query({ schema: ListPolicyVersionsQuerySchema }) query: ListPolicyVersionsQuery,
  ): Promise<PolicyVersionListResponse> {
    return this.versions.listPolicyVersions(endpointId, query);
  }

  @ApiOperation({ summary: 'Save a new policy version and activate it' })
  @Post()
  @RequireRole('editor')
  @ApiCreatedResponse({ description: 'Appended and activated', standardSchema: PolicyVersionResponseSchema })
  @ApiBadRequestResponse({
    description: 'POLICY_INVALID, POLICY_REQUIRED, VALIDATION_FAILED',
    standardSchema: ErrorResponseSchema,
  })
  @notFound
  createPolicyVersion(
    @Context() context: RequestContext,
    @Param('id') endpointId: string,
    @Body({ schema: CreatePolicyVersionBodySchema }) body: CreatePolicyVersionInput,
  ): Promise<PolicyVersionResponse> {
    return this.versions.createPolicyVersion(context, endpointId, body);
  }

  @ApiOperation({ summary: 'Get one policy version' })
  @Get(':version')
  @RequireRole('viewer')
  @ApiOkResponse({ standardSchema: PolicyVersionResponseSchema })
  @notFound
  getPolicyVersion(
    @Param('id') endpointId: string,
    @Param('version', { schema: PolicyVersionParamSchema }) version: number,
  ): Promise<PolicyVersionResponse> {
    return this.versions.getPolicyVersion(endpointId, version);
  }

  @ApiOperation({ summary: 'Restore a version by appending a copy of it' })
  @Post(':version/restore')
  @RequireRole('editor')
  @ApiCreatedResponse({
    description: "Appends a copy of this version's text as the newest version and activates it",
    standardSchema: PolicyVersionResponseSchema,
  })
  @notFound
  restorePolicyVersion(
    @Context() context: RequestContext,
    @Param('id') endpointId: string,
    @Param('version', { schema: PolicyVersionParamSchema }) version: number,
    @Body({ schema: RestorePolicyVersionBodySchema }) body: RestorePolicyVersionInput,
  ): Promise<PolicyVersionResponse> {
    return this.versions.restorePolicyVersion(context, endpointId, version, body);
  }
}
