import { Module } from '@nestjs/common';
import { AuditEventsModule } from '../audit-events/audit-events.module';
import { VaultsController } from './vaults.controller';
import { VaultsRepository } from './vaults.repository';
import { VaultsService } from './vaults.service';

@Module({
  imports: [AuditEventsModule],
  controllers: [VaultsController],
  providers: [VaultsRepository, VaultsService],
})
export class VaultsModule {}
