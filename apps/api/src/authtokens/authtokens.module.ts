import { Module } from '@nestjs/common';
import { AgentSessionsModule } from '../agent-sessions/agent-sessions.module';
import { ApiKeysModule } from '../api-keys/api-keys.module';
import { AuditEventsModule } from '../audit-events/audit-events.module';
import { AuthtokensController } from './authtokens.controller';
import { AuthtokensRepository } from './authtokens.repository';
import { AuthtokensService } from './authtokens.service';

@Module({
  imports: [AuditEventsModule, ApiKeysModule, AgentSessionsModule],
  controllers: [AuthtokensController],
  providers: [AuthtokensRepository, AuthtokensService],
  exports: [AuthtokensRepository],
})
export class AuthtokensModule {}
