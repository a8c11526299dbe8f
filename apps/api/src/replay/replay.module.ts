import { Module } from '@nestjs/common';
import { TrafficPolicyModule } from '../traffic-policy/traffic-policy.module';
import { ReplayController } from './replay.controller';
import { ReplayRepository } from './replay.repository';
import { ReplayService } from './replay.service';

/** Replay of draft policies on recorded traffic (issue 17 item 2). */
@Module({
  imports: [TrafficPolicyModule],
  controllers: [ReplayController],
  providers: [ReplayRepository, ReplayService],
})
export class ReplayModule {}
