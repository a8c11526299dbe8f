import { z } from 'zod';
import { EmailSchema, PasswordSchema, UserResponseSchema } from '../users/users.dto';
import { RoleSchema } from './actor';

export const LoginBodySchema = z
  .strictObject({ email: EmailSchema, password: z.string().min(1).max(1024) })
  .meta({ id: 'LoginBody' });
export type LoginBody = z.input<typeof LoginBodySchema>;
export type LoginInput = z.output<typeof LoginBodySchema>;

export const SetupBodySchema = z
  .strictObject({ email: EmailSchema, password: PasswordSchema })
  .meta({ id: 'SetupBody' });
export type SetupBody = z.input<typeof SetupBodySchema>;
export type SetupInput = z.output<typeof SetupBodySchema>;

export const SessionResponseSchema = z.object({ user: UserResponseSchema }).meta({ id: 'Session' });
export type SessionResponse = z.infer<typeof SessionResponseSchema>;

export const MeResponseSchema = z
  .object({
    type: z.enum(['user', 'api_key']),
    id: z.string(),
    name: z.string().meta({ description: 'User email or API key prefix' }),
    role: RoleSchema,
    /** The user, when authenticated by a session. */
    user: UserResponseSchema.nullable(),
  })
  .meta({ id: 'Me' });
export type MeResponse = z.infer<typeof MeResponseSchema>;

export const SetupStatusResponseSchema = z.object({ setup_required: z.boolean() }).meta({ id: 'SetupStatus' });
export type SetupStatusResponse = z.infer<typeof SetupStatusResponseSchema>;
