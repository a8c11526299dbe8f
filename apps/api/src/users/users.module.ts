import { Module } from '@nestjs/common';
import { AuditEventsModule } from '../audit-events/audit-events.module';
import { PasswordHasher } from '../auth/password-hasher';
import { UsersController } from './users.controller';
import { UsersRepository } from './users.repository';
import { UsersService } from './users.service';

@Module({
  imports: [AuditEventsModule],
  controllers: [UsersController],
  // The one PasswordHasher of the app (its queue bounds hashing across login, setup and user changes).
  providers: [UsersRepository, UsersService, PasswordHasher],
  exports: [UsersRepository, PasswordHasher],
})
export class UsersModule {}
