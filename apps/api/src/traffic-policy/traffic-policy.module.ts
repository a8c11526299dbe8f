import { Module } from '@nestjs/common';
import { InternalEndpointUrlsRepository } from './internal-endpoint-urls.repository';
import { OutboundTargetsService } from './outbound-targets.service';
import { SecretNamesRepository } from './secret-names.repository';
import { PolicyValidationService } from './policy-validation.service';
import { TrafficPolicyController } from './traffic-policy.controller';

@Module({
  controllers: [TrafficPolicyController],
  providers: [PolicyValidationService, InternalEndpointUrlsRepository, SecretNamesRepository, OutboundTargetsService],
  exports: [PolicyValidationService, OutboundTargetsService],
})
export class TrafficPolicyModule {}
