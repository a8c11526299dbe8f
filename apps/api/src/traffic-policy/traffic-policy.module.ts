import { Module } from '@nestjs/common';
import { InternalEndpointUrlsRepository } from './internal-endpoint-urls.repository';
import { PolicyValidationService } from './policy-validation.service';
import { TrafficPolicyController } from './traffic-policy.controller';

@Module({
  controllers: [TrafficPolicyController],
  providers: [PolicyValidationService, InternalEndpointUrlsRepository],
  exports: [PolicyValidationService],
})
export class TrafficPolicyModule {}
