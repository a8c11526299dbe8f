import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiConflictResponse,
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
  CreateEndpointBodySchema,
  type CreateEndpointInput,
  EndpointListResponseSchema,
  type EndpointListResponse,
  EndpointResponseSchema,
  type EndpointResponse,
  ListEndpointsQuerySchema,
  type ListEndpointsQuery,
  UpdateEndpointBodySchema,
  type UpdateEndpointInput,
} from './endpoints.dto';
import { EndpointsService } from './endpoints.service';

const badRequest = ApiBadRequestResponse({
  description:
    'VALIDATION_FAILED, POLICY_INVALID (details carry line/column), POLICY_REQUIRED, ENDPOINT_URL_INVALID, ENDPOINT_UPSTREAM_INVALID, UPSTREAM_IS_GATEWAY (the upstream is one of the gateway’s own listeners), UPSTREAM_FORBIDDEN (outside GATEHOUSE_UPSTREAM_ALLOW/_DENY), ENDPOINT_CAPTURE_UNSUPPORTED, ENDPOINT_SCHEME_IMMUTABLE',
  standardSchema: ErrorResponseSchema,
});
const notFound = ApiNotFoundResponse({ description: 'ENDPOINT_NOT_FOUND', standardSchema: ErrorResponseSchema });

@ApiTags('endpoints')
@Controller('endpoints')
export class EndpointsController {
  constructor(private readonly endpoints: EndpointsService) {}

  @ApiOperation({ summary: 'Create an endpoint (with its first policy version)' })
  @Post()
  @RequireRole('editor')
  @ApiCreatedResponse({ standardSchema: EndpointResponseSchema })
  @badRequest
  @ApiConflictResponse({ description: 'ENDPOINT_URL_TAKEN', standardSchema: ErrorResponseSchema })
  createEndpoint(
    @Context() context: RequestContext,
    @Body({ schema: CreateEndpointBodySchema }) body: CreateEndpointInput,
  ): Promise<EndpointResponse> {
    return this.endpoints.createEndpoint(context, body);
  }

  @ApiOperation({ summary: 'List endpoints, newest first' })
  @Get()
  @RequireRole('viewer')
  @ApiOkResponse({ standardSchema: EndpointListResponseSchema })
  listEndpoints(@Query({ schema: ListEndpointsQuerySchema }) query: ListEndpointsQuery): Promise<EndpointListResponse> {
    return this.endpoints.listEndpoints(query);
  }

  @ApiOperation({ summary: 'Get an endpoint with its active policy' })
  @Get(':id')
  @RequireRole('viewer')
  @ApiOkResponse({ standardSchema: EndpointResponseSchema })
  @notFound
  getEndpoint(@Param('id') id: string): Promise<EndpointResponse> {
    return this.endpoints.getEndpoint(id);
  }

  @ApiOperation({ summary: 'Update an endpoint; traffic_policy appends a policy version' })
  @Patch(':id')
  @RequireRole('editor')
  @ApiOkResponse({ standardSchema: EndpointResponseSchema })
  @badRequest
  @notFound
  @ApiConflictResponse({ description: 'ENDPOINT_URL_TAKEN', standardSchema: ErrorResponseSchema })
  updateEndpoint(
    @Context() context: RequestContext,
    @Param('id') id: string,
    @Body({ schema: UpdateEndpointBodySchema }) body: UpdateEndpointInput,
  ): Promise<EndpointResponse> {
    return this.endpoints.updateEndpoint(context, id, body);
  }

  @ApiOperation({ summary: 'Delete an endpoint and its policy versions' })
  @Delete(':id')
  @RequireRole('editor')
  @HttpCode(204)
  @ApiNoContentResponse({ description: 'Deleted with its policy versions' })
  @notFound
  deleteEndpoint(@Context() context: RequestContext, @Param('id') id: string): Promise<void> {
    return this.endpoints.deleteEndpoint(context, id);
  }
}
