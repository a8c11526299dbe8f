import { Injectable } from '@nestjs/common';
import type { RequestContext } from '../auth/actor';
import { AppError } from '../common/app-error';
import { ErrorCode } from '../common/error-codes';
import { ConfigPublisherService } from '../config-publisher/config-publisher.service';
import type {
  CreateIpCategoryInput,
  IpCategoryListResponse,
  IpCategoryResponse,
  PutIpCategoryInput,
} from './ip-categories.dto';
import { presentIpCategory } from './ip-categories.presenter';
import { IpCategoriesRepository } from './ip-categories.repository';

@Injectable()
export class IpCategoriesService {
  constructor(
    private readonly categories: IpCategoriesRepository,
    private readonly publisher: ConfigPublisherService,
  ) {}

  async listIpCategories(): Promise<IpCategoryListResponse> {
    const rows = await this.categories.listIpCategories();
    return { ip_categories: rows.map(presentIpCategory), next_page_uri: null };
  }

  async getIpCategory(name: string): Promise<IpCategoryResponse> {
    const category = await this.categories.findIpCategory(name);
    if (!category) throw new AppError(ErrorCode.IP_CATEGORY_NOT_FOUND, `No IP category ${name}`);
    return presentIpCategory(category);
  }

  async createIpCategory(context: RequestContext, body: CreateIpCategoryInput): Promise<IpCategoryResponse> {
    const category = await this.categories.createIpCategory(context, body.name, {
      cidrs: [...new Set(body.cidrs)],
      description: body.description,
    });
    await this.publisher.publishAfterCommit();
    return presentIpCategory(category);
  }

  async putIpCategory(context: RequestContext, name: string, body: PutIpCategoryInput): Promise<IpCategoryResponse> {
    const { category } = await this.categories.putIpCategory(context, name, {
      cidrs: [...new Set(body.cidrs)],
      description: body.description,
    });
    await this.publisher.publishAfterCommit();
    return presentIpCategory(category);
  }

  async deleteIpCategory(context: RequestContext, name: string): Promise<void> {
    await this.categories.deleteIpCategory(context, name);
    await this.publisher.publishAfterCommit();
  }
}
