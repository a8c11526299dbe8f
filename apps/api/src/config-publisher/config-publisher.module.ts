import { Global, Module } from '@nestjs/common';
import { ConfigOutboxRepository } from './config-outbox.repository';
import { CONFIG_RELAY_ENABLED, ConfigPublisherService } from './config-publisher.service';
import { ConfigRejectionsRepository } from './config-rejections.repository';
import { PublishedPolicyGuard } from './published-policy-guard';

@Global()
@Module({
  providers: [
    ConfigOutboxRepository,
    ConfigPublisherService,
    ConfigRejectionsRepository,
    PublishedPolicyGuard,
    { provide: CONFIG_RELAY_ENABLED, useValue: true },
  ],
  exports: [ConfigOutboxRepository, ConfigPublisherService, PublishedPolicyGuard],
})
export class ConfigPublisherModule {}
