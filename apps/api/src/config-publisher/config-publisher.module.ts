import { Global, Module } from '@nestjs/common';
import { ConfigOutboxRepository } from './config-outbox.repository';
import { CONFIG_RELAY_ENABLED, ConfigPublisherService } from './config-publisher.service';

@Global()
@Module({
  providers: [ConfigOutboxRepository, ConfigPublisherService, { provide: CONFIG_RELAY_ENABLED, useValue: true }],
  exports: [ConfigOutboxRepository, ConfigPublisherService],
})
export class ConfigPublisherModule {}
