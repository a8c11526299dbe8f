import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiCreatedResponse,
  ApiTags,
  ApiNotFoundResponse,
  ApiConflictResponse,
  ApiOperation,
} from '@nestjs/swagger';
import type { RequestContext } from '../auth/actor';
import { Context, RequireRole } from '../auth/auth.decorators';
import { ErrorResponseSchema } from '@gatehouse/contracts';
import {
  CreateUserBodySchema,
  type CreateUserInput,
  ListUsersQuerySchema,
  UpdateUserBodySchema,
  type UpdateUserInput,
  UserListResponseSchema,
  type UserListResponse,
  UserResponseSchema,
  type UserResponse,
} from './users.dto';
import { UsersService } from './users.service';

@ApiTags('users')
@RequireRole('admin')
@Controller('users')
export class UsersController {
  constructor(private readonly users: UsersService) {}

  @ApiOperation({ summary: 'List users' })
  @Get()
  @ApiOkResponse({ standardSchema: UserListResponseSchema })
  listUsers(
    @Query({ schema: ListUsersQuerySchema }) query: { limit: number; before_id?: string },
  ): Promise<UserListResponse> {
    return this.users.listUsers(query);
  }

  @ApiOperation({ summary: 'Create a user' })
  @Post()
  @ApiCreatedResponse({ standardSchema: UserResponseSchema })
  @ApiConflictResponse({ description: 'USER_EMAIL_TAKEN', standardSchema: ErrorResponseSchema })
  @ApiBadRequestResponse({ description: 'VALIDATION_FAILED, PASSWORD_TOO_COMMON', standardSchema: ErrorResponseSchema })
  createUser(
    @Context() context: RequestContext,
    @Body({ schema: CreateUserBodySchema }) body: CreateUserInput,
  ): Promise<UserResponse> {
    return this.users.createUser(context, body);
  }

  @ApiOperation({ summary: 'Get a user' })
  @Get(':id')
  @ApiOkResponse({ standardSchema: UserResponseSchema })
  @ApiNotFoundResponse({ description: 'USER_NOT_FOUND', standardSchema: ErrorResponseSchema })
  getUser(@Param('id') id: string): Promise<UserResponse> {
    return this.users.getUser(id);
  }

  @ApiOperation({
    summary: "Change a user's role or password (their API keys act with at most their new role from the next request)",
  })
  @Patch(':id')
  @ApiOkResponse({ standardSchema: UserResponseSchema })
  @ApiNotFoundResponse({ description: 'USER_NOT_FOUND', standardSchema: ErrorResponseSchema })
  @ApiConflictResponse({ description: 'LAST_ADMIN', standardSchema: ErrorResponseSchema })
  @ApiBadRequestResponse({ description: 'VALIDATION_FAILED, PASSWORD_TOO_COMMON', standardSchema: ErrorResponseSchema })
  updateUser(
    @Context() context: RequestContext,
    @Param('id') id: string,
    @Body({ schema: UpdateUserBodySchema }) body: UpdateUserInput,
  ): Promise<UserResponse> {
    return this.users.updateUser(context, id, body);
  }

  @ApiOperation({ summary: 'Delete a user' })
  @Delete(':id')
  @HttpCode(204)
  @ApiNoContentResponse({ description: "Deleted; the user's sessions end and their API keys are revoked with it" })
  @ApiNotFoundResponse({ description: 'USER_NOT_FOUND', standardSchema: ErrorResponseSchema })
  @ApiConflictResponse({ description: 'LAST_ADMIN', standardSchema: ErrorResponseSchema })
  deleteUser(@Context() context: RequestContext, @Param('id') id: string): Promise<void> {
    return this.users.deleteUser(context, id);
  }
}
