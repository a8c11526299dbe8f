import { Module } from '@nestjs/common';
import { TrafficController } from './traffic.controller';
import { TrafficRepository } from './traffic.repository';
import { TrafficService } from './traffic.service';

/** Traffic statistics for the overview charts (issue 19), read from the rollups request-log ingestion maintains. */
@Module({
  controllers: [TrafficController],
  providers: [TrafficRepository, TrafficService],
})
export class TrafficModule {}
