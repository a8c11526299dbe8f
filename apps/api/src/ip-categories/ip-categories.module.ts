import { Module } from '@nestjs/common';
import { AuditEventsModule } from '../audit-events/audit-events.module';
import { IpCategoriesController } from './ip-categories.controller';
import { IpCategoriesRepository } from './ip-categories.repository';
import { IpCategoriesService } from './ip-categories.service';
import { IpCategoryRefreshService } from './ip-category-refresh.service';

@Module({
  imports: [AuditEventsModule],
  controllers: [IpCategoriesController],
  providers: [IpCategoriesRepository, IpCategoriesService, IpCategoryRefreshService],
})
export class IpCategoriesModule {}
