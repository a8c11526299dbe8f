import { Module } from '@nestjs/common';
import { AuditEventsModule } from '../audit-events/audit-events.module';
import { TrafficPolicyModule } from '../traffic-policy/traffic-policy.module';
import { EndpointsController } from './endpoints.controller';
import { EndpointsRepository } from './endpoints.repository';
import { EndpointsService } from './endpoints.service';
import { PolicyVersionsController } from './policy-versions.controller';
import { PolicyVersionsService } from './policy-versions.service';
import { ShadowPolicyController } from './shadow-policy.controller';

@Module({
  imports: [AuditEventsModule, TrafficPolicyModule],
  controllers: [EndpointsController, PolicyVersionsController, ShadowPolicyController],
  providers: [EndpointsRepository, EndpointsService, PolicyVersionsService],
})
export class EndpointsModule {}
