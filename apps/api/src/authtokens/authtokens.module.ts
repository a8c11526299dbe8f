import { Module } from '@nestjs/common';
import { ApiKeysModule } from '../api-keys/api-keys.module';
import { AuditEventsModule } from '../audit-events/audit-events.module';
import { AuthtokensController } from './authtokens.controller';
import { AuthtokensRepository } from './authtokens.repository';
import { AuthtokensService } from './authtokens.service';

@Module({
  imports: [AuditEventsModule, ApiKeysModule],
  controllers: [AuthtokensController],
  providers: [AuthtokensRepository, AuthtokensService],
  exports: [AuthtokensRepository],
})
export class AuthtokensModule {}
