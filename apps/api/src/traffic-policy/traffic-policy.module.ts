import { Module } from '@nestjs/common';
import { InternalEndpointUrlsRepository } from './internal-endpoint-urls.repository';
import { OutboundTargetsService } from './outbound-targets.service';
import { PolicyTestsService } from './policy-tests.service';
import { SecretNamesRepository } from './secret-names.repository';
import { PolicyValidationService } from './policy-validation.service';
import { TrafficPolicyController } from './traffic-policy.controller';

@Module({
  controllers: [TrafficPolicyController],
  providers: [
    PolicyValidationService,
    PolicyTestsService,
    InternalEndpointUrlsRepository,
    SecretNamesRepository,
    OutboundTargetsService,
  ],
  exports: [PolicyValidationService, PolicyTestsService, OutboundTargetsService],
})
export class TrafficPolicyModule {}
