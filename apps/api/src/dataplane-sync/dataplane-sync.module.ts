import { Module } from '@nestjs/common';
import { AgentSessionsModule } from '../agent-sessions/agent-sessions.module';
import { RuleCountersModule } from '../rule-counters/rule-counters.module';
import { DataplaneSyncController } from './dataplane-sync.controller';
import { DataplaneSyncRepository } from './dataplane-sync.repository';
import { DataplaneSyncService } from './dataplane-sync.service';
import { DataplanesController } from './dataplanes.controller';
import { DataplaneSecretsService } from '../vaults/dataplane-secrets.service';

@Module({
  imports: [AgentSessionsModule, RuleCountersModule],
  controllers: [DataplaneSyncController, DataplanesController],
  providers: [DataplaneSyncRepository, DataplaneSyncService, DataplaneSecretsService],
})
export class DataplaneSyncModule {}
