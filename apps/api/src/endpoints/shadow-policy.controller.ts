import { Body, Controller, Delete, HttpCode, Param, Post, Put } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import { ErrorResponseSchema } from '@gatehouse/contracts';
import type { RequestContext } from '../auth/actor';
import { Context, RequireRole } from '../auth/auth.decorators';
import {
  EndpointResponseSchema,
  type EndpointResponse,
  PromoteShadowPolicyBodySchema,
  type PromoteShadowPolicyInput,
  PublishShadowPolicyBodySchema,
  type PublishShadowPolicyInput,
  PolicyVersionResponseSchema,
  type PolicyVersionResponse,
} from './endpoints.dto';
import { PolicyVersionsService } from './policy-versions.service';

/** Shadow policies (issue 17 item 3): evaluated on live traffic beside the active policy, never enforced. */
@ApiTags('policy versions')
@Controller('endpoints/:id/shadow-policy')
export class ShadowPolicyController {
  constructor(private readonly versions: PolicyVersionsService) {}

  @ApiOperation({
    summary: 'Publish a shadow policy: data planes evaluate it beside the active one and record where they differ',
    description:
      'Give a policy text or an existing version. Nothing is enforced; its rate limits, circuit breakers and other ' +
      'side effects run on state isolated from the live policy. Replaces any earlier shadow.',
  })
  @Put()
  @RequireRole('editor')
  @ApiOkResponse({ description: 'The endpoint with its shadow_policy', standardSchema: EndpointResponseSchema })
  @ApiBadRequestResponse({ description: 'POLICY_INVALID, VALIDATION_FAILED', standardSchema: ErrorResponseSchema })
  @ApiNotFoundResponse({
    description: 'ENDPOINT_NOT_FOUND, POLICY_VERSION_NOT_FOUND',
    standardSchema: ErrorResponseSchema,
  })
  @ApiConflictResponse({ description: 'ENDPOINT_OWNED_BY_AGENT', standardSchema: ErrorResponseSchema })
  publishShadowPolicy(
    @Context() context: RequestContext,
    @Param('id') endpointId: string,
    @Body({ schema: PublishShadowPolicyBodySchema }) body: PublishShadowPolicyInput,
  ): Promise<EndpointResponse> {
    return this.versions.publishShadowPolicy(context, endpointId, body);
  }

  @ApiOperation({ summary: 'Discard the shadow policy: data planes stop evaluating it' })
  @Delete()
  @RequireRole('editor')
  @ApiOkResponse({ description: 'The endpoint without a shadow policy', standardSchema: EndpointResponseSchema })
  @ApiNotFoundResponse({
    description: 'ENDPOINT_NOT_FOUND, SHADOW_POLICY_NOT_FOUND',
    standardSchema: ErrorResponseSchema,
  })
  discardShadowPolicy(@Context() context: RequestContext, @Param('id') endpointId: string): Promise<EndpointResponse> {
    return this.versions.discardShadowPolicy(context, endpointId);
  }

  @ApiOperation({
    summary: 'Promote the shadow policy: save it as the next version (validated, test cases run) and clear the shadow',
  })
  @Post('promote')
  @HttpCode(201)
  @RequireRole('editor')
  @ApiCreatedResponse({ description: 'The new active version', standardSchema: PolicyVersionResponseSchema })
  @ApiBadRequestResponse({ description: 'POLICY_INVALID, VALIDATION_FAILED', standardSchema: ErrorResponseSchema })
  @ApiNotFoundResponse({
    description: 'ENDPOINT_NOT_FOUND, SHADOW_POLICY_NOT_FOUND',
    standardSchema: ErrorResponseSchema,
  })
  @ApiConflictResponse({ description: 'SHADOW_POLICY_CHANGED', standardSchema: ErrorResponseSchema })
  promoteShadowPolicy(
    @Context() context: RequestContext,
    @Param('id') endpointId: string,
    @Body({ schema: PromoteShadowPolicyBodySchema }) body: PromoteShadowPolicyInput,
  ): Promise<PolicyVersionResponse> {
    return this.versions.promoteShadowPolicy(context, endpointId, body);
  }
}
