import { Module } from '@nestjs/common';
import { AgentSessionsModule } from '../agent-sessions/agent-sessions.module';
import { DataplaneSyncController } from './dataplane-sync.controller';
import { DataplaneSyncRepository } from './dataplane-sync.repository';
import { DataplaneSyncService } from './dataplane-sync.service';
import { DataplanesController } from './dataplanes.controller';

@Module({
  imports: [AgentSessionsModule],
  controllers: [DataplaneSyncController, DataplanesController],
  providers: [DataplaneSyncRepository, DataplaneSyncService],
})
export class DataplaneSyncModule {}
