import { Injectable } from '@nestjs/common';
import { SYSTEM_CONTEXT } from '../auth/actor';
import { newId } from '../common/ids';
import { PrismaService } from '../database/prisma.service';

export interface PolicyRejection {
  endpointId: string;
  version: number;
  sha256: string;
  reason: string;
}

/** Writes the audit trail of stored policies the publisher refused to hand to data planes. */
@Injectable()
export class ConfigRejectionsRepository {
  constructor(private readonly prisma: PrismaService) {}

  async recordPolicyRejection(rejection: PolicyRejection): Promise<void> {
    await this.prisma.auditEvent.create({
      data: {
        id: newId('ae'),
        actorType: SYSTEM_CONTEXT.actor.type,
        actorId: SYSTEM_CONTEXT.actor.id,
        actorName: SYSTEM_CONTEXT.actor.name,
        kind: 'policy_version.rejected',
        entityId: rejection.endpointId,
        after: { version: rejection.version, sha256: rejection.sha256, reason: rejection.reason },
      },
    });
  }
}
