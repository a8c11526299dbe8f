import { Module } from '@nestjs/common';
import { RuleCountersController } from './rule-counters.controller';
import { RuleCountersRepository } from './rule-counters.repository';
import { RuleCountersService } from './rule-counters.service';

/** Per-rule counters (issue 17 item 4): stored from data-plane heartbeats, read by the policy editor's code lenses. */
@Module({
  controllers: [RuleCountersController],
  providers: [RuleCountersRepository, RuleCountersService],
  exports: [RuleCountersService],
})
export class RuleCountersModule {}
