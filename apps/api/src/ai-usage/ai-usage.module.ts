import { Module } from '@nestjs/common';
import { AiUsageController } from './ai-usage.controller';
import { AiUsageRepository } from './ai-usage.repository';
import { AiUsageService } from './ai-usage.service';

/** The AI usage view (issue 16): ai-gateway tokens and cost by day, model and client key, from the request log. */
@Module({
  controllers: [AiUsageController],
  providers: [AiUsageRepository, AiUsageService],
})
export class AiUsageModule {}
