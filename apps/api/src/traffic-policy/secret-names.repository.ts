import { Injectable } from '@nestjs/common';
import { PrismaService } from '../database/prisma.service';

@Injectable()
export class SecretNamesRepository {
  constructor(private readonly prisma: PrismaService) {}

  /** Vault → its secret names (never values): what `secrets.get` in a policy may name. */
  async listSecretNames(): Promise<Map<string, Set<string>>> {
    const [vaults, secrets] = await Promise.all([
      this.prisma.vault.findMany({ select: { name: true } }),
      this.prisma.secret.findMany({ select: { vaultName: true, name: true } }),
    ]);
    const names = new Map(vaults.map((vault) => [vault.name, new Set<string>()]));
    for (const secret of secrets) names.get(secret.vaultName)?.add(secret.name);
    return names;
  }
}
