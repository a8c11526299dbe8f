import { Body, Controller, Delete, Get, HttpCode, Param, Post, Put } from '@nestjs/common';
import {
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiForbiddenResponse,
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
  CreateIpCategoryBodySchema,
  type CreateIpCategoryInput,
  IpCategoryListResponseSchema,
  type IpCategoryListResponse,
  IpCategoryNameSchema,
  IpCategoryResponseSchema,
  type IpCategoryResponse,
  PutIpCategoryBodySchema,
  type PutIpCategoryInput,
} from './ip-categories.dto';
import { IpCategoriesService } from './ip-categories.service';

const builtinForbidden = ApiForbiddenResponse({
  description: 'FORBIDDEN (role) or IP_CATEGORY_BUILTIN (built-ins are read-only)',
  standardSchema: ErrorResponseSchema,
});

@ApiTags('ip categories')
@Controller('ip-categories')
export class IpCategoriesController {
  constructor(private readonly categories: IpCategoriesService) {}

  @ApiOperation({ summary: 'List IP categories' })
  @Get()
  @RequireRole('viewer')
  @ApiOkResponse({ standardSchema: IpCategoryListResponseSchema })
  listIpCategories(): Promise<IpCategoryListResponse> {
    return this.categories.listIpCategories();
  }

  @ApiOperation({ summary: 'Get an IP category' })
  @Get(':name')
  @RequireRole('viewer')
  @ApiOkResponse({ standardSchema: IpCategoryResponseSchema })
  @ApiNotFoundResponse({ description: 'IP_CATEGORY_NOT_FOUND', standardSchema: ErrorResponseSchema })
  getIpCategory(@Param('name') name: string): Promise<IpCategoryResponse> {
    return this.categories.getIpCategory(name);
  }

  @ApiOperation({
    summary: 'Create a custom IP category',
    description: 'Fails with 409 IP_CATEGORY_EXISTS when the name is taken; PUT /api/ip-categories/{name} replaces.',
  })
  @Post()
  @RequireRole('editor')
  @ApiCreatedResponse({ description: 'Created', standardSchema: IpCategoryResponseSchema })
  @ApiConflictResponse({ description: 'IP_CATEGORY_EXISTS', standardSchema: ErrorResponseSchema })
  createIpCategory(
    @Context() context: RequestContext,
    @Body({ schema: CreateIpCategoryBodySchema }) body: CreateIpCategoryInput,
  ): Promise<IpCategoryResponse> {
    return this.categories.createIpCategory(context, body);
  }

  @ApiOperation({ summary: 'Create or replace a custom IP category' })
  @Put(':name')
  @RequireRole('editor')
  @ApiOkResponse({ description: 'Created or replaced', standardSchema: IpCategoryResponseSchema })
  @builtinForbidden
  putIpCategory(
    @Context() context: RequestContext,
    @Param('name', { schema: IpCategoryNameSchema }) name: string,
    @Body({ schema: PutIpCategoryBodySchema }) body: PutIpCategoryInput,
  ): Promise<IpCategoryResponse> {
    return this.categories.putIpCategory(context, name, body);
  }

  @ApiOperation({ summary: 'Delete a custom IP category' })
  @Delete(':name')
  @RequireRole('editor')
  @HttpCode(204)
  @ApiNoContentResponse({ description: 'Deleted' })
  @builtinForbidden
  @ApiNotFoundResponse({ description: 'IP_CATEGORY_NOT_FOUND', standardSchema: ErrorResponseSchema })
  deleteIpCategory(@Context() context: RequestContext, @Param('name') name: string): Promise<void> {
    return this.categories.deleteIpCategory(context, name);
  }
}
