import { Injectable } from '@nestjs/common';
import type { RequestContext } from '../auth/actor';
import { PasswordHasher } from '../auth/password-hasher';
import { assertPasswordAllowed } from '../auth/password-policy';
import { AppError } from '../common/app-error';
import { ErrorCode } from '../common/error-codes';
import { toPage } from '../common/pagination';
import type { CreateUserInput, UpdateUserInput, UserListResponse, UserResponse } from './users.dto';
import { presentUser } from './users.presenter';
import { UsersRepository } from './users.repository';

@Injectable()
export class UsersService {
  constructor(
    private readonly users: UsersRepository,
    private readonly passwords: PasswordHasher,
  ) {}

  async listUsers(query: { limit: number; before_id?: string }): Promise<UserListResponse> {
    const rows = await this.users.listUsers(query.limit, query.before_id);
    const page = toPage(rows, query.limit, '/api/users', query);
    return { users: page.items.map(presentUser), next_page_uri: page.nextPageUri };
  }

  async getUser(id: string): Promise<UserResponse> {
    const user = await this.users.findUserById(id);
    if (!user) throw new AppError(ErrorCode.USER_NOT_FOUND, `No user ${id}`);
    return presentUser(user);
  }

  async createUser(context: RequestContext, body: CreateUserInput): Promise<UserResponse> {
    assertPasswordAllowed(body.password);
    const user = await this.users.createUser(context, {
      email: body.email,
      role: body.role,
      passwordHash: await this.passwords.hash(body.password),
    });
    return presentUser(user);
  }

  async updateUser(context: RequestContext, id: string, body: UpdateUserInput): Promise<UserResponse> {
    if (body.password !== undefined) assertPasswordAllowed(body.password);
    const user = await this.users.updateUser(context, id, {
      ...(body.role ? { role: body.role } : {}),
      ...(body.password ? { passwordHash: await this.passwords.hash(body.password) } : {}),
    });
    return presentUser(user);
  }

  async deleteUser(context: RequestContext, id: string): Promise<void> {
    await this.users.deleteUser(context, id);
  }
}
