import { Module } from '@nestjs/common';
import { AuditEventsModule } from '../audit-events/audit-events.module';
import { TrafficPolicyModule } from '../traffic-policy/traffic-policy.module';
import { AgentSessionSweeper } from './agent-session-sweeper';
import { AgentSessionsController, DataplaneAgentSessionsController } from './agent-sessions.controller';
import { AgentSessionsRepository } from './agent-sessions.repository';
import { AgentSessionsService } from './agent-sessions.service';

@Module({
  imports: [AuditEventsModule, TrafficPolicyModule],
  controllers: [AgentSessionsController, DataplaneAgentSessionsController],
  providers: [AgentSessionsRepository, AgentSessionsService, AgentSessionSweeper],
  exports: [AgentSessionsRepository, AgentSessionsService],
})
export class AgentSessionsModule {}
