import { Injectable } from '@nestjs/common';
import { isInternalHost } from '@gatehouse/contracts';
import { PrismaService } from '../database/prisma.service';

@Injectable()
export class InternalEndpointUrlsRepository {
  constructor(private readonly prisma: PrismaService) {}

  /**
   * URLs of every internal endpoint, and of every agent endpoint on a `.internal` host (reachable the same way):
   * forward-internal targets a cloud policy may name without a warning.
   */
  async listInternalEndpointUrls(): Promise<Set<string>> {
    const rows = await this.prisma.endpoint.findMany({
      where: { type: { in: ['internal', 'agent'] } },
      select: { url: true, type: true, host: true },
    });
    return new Set(rows.filter((row) => row.type === 'internal' || isInternalHost(row.host)).map((row) => row.url));
  }
}
