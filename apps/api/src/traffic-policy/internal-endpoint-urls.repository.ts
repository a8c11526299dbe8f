import { Injectable } from '@nestjs/common';
import { PrismaService } from '../database/prisma.service';

@Injectable()
export class InternalEndpointUrlsRepository {
  constructor(private readonly prisma: PrismaService) {}

  /** URLs of every internal endpoint: forward-internal targets a cloud policy may name without a warning. */
  async listInternalEndpointUrls(): Promise<Set<string>> {
    const rows = await this.prisma.endpoint.findMany({ where: { type: 'internal' }, select: { url: true } });
    return new Set(rows.map((row) => row.url));
  }
}
