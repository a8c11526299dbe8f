import { z } from 'zod';
import { RoleSchema } from '../auth/actor';
import { PageQuerySchema } from '../common/pagination';

export const PasswordSchema = z
  .string()
  .min(12, 'must be at least 12 characters')
  .max(1024)
  .refine((password) => password.trim().length > 0, 'must not be only whitespace');
export const EmailSchema = z
  .email()
  .max(254)
  .transform((email) => email.toLowerCase());

export const CreateUserBodySchema = z
  .strictObject({ email: EmailSchema, password: PasswordSchema, role: RoleSchema })
  .meta({ id: 'CreateUserBody' });
export type CreateUserBody = z.input<typeof CreateUserBodySchema>;
export type CreateUserInput = z.output<typeof CreateUserBodySchema>;

export const UpdateUserBodySchema = z
  .strictObject({ role: RoleSchema.optional(), password: PasswordSchema.optional() })
  .meta({ id: 'UpdateUserBody' });
export type UpdateUserBody = z.input<typeof UpdateUserBodySchema>;
export type UpdateUserInput = z.output<typeof UpdateUserBodySchema>;

export const ListUsersQuerySchema = PageQuerySchema;

export const UserResponseSchema = z
  .object({
    id: z.string(),
    uri: z.string(),
    email: z.string(),
    role: RoleSchema,
    last_login_at: z.iso.datetime({ offset: true }).nullable(),
    created_at: z.iso.datetime({ offset: true }),
    updated_at: z.iso.datetime({ offset: true }),
  })
  .meta({ id: 'User' });
export type UserResponse = z.infer<typeof UserResponseSchema>;

export const UserListResponseSchema = z
  .object({ users: z.array(UserResponseSchema), next_page_uri: z.string().nullable() })
  .meta({ id: 'UserList' });
export type UserListResponse = z.infer<typeof UserListResponseSchema>;
