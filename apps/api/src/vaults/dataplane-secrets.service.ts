import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from 'pino';
import { policyOptionsFor, type SyncEndpoint, type SyncSecret } from '@gatehouse/contracts';
import { deriveDataplaneSecretsKey, sealForDataplanes } from '@gatehouse/runtime';
import { LOGGER } from '../common/logger';
import { PrismaService } from '../database/prisma.service';
import { ENV, type Env } from '../env';
import { policySecretReferences } from '../traffic-policy/policy-engine';
import { SecretsCipher } from './secrets-cipher';

const MAX_CACHED = 50_000;

/**
 * Adds to each endpoint the secrets its active policy names, opened from rest and sealed for data planes
 * (@gatehouse/runtime dataplane-secrets), when the API serves the snapshot or the change listing. Only referenced
 * secrets travel; the outbox and pub/sub never carry them. A secret that is missing or cannot be opened is left out
 * (and logged, without its value): the data plane then fails requests that need it closed.
 */
@Injectable()
export class DataplaneSecretsService {
  readonly #cipher: SecretsCipher | undefined;
  readonly #transportKey: Buffer;
  /** References by `type:sha256` of the policy: the same text always names the same secrets. */
  readonly #references = new Map<string, { vault: string; name: string }[]>();

  constructor(
    private readonly prisma: PrismaService,
    @Inject(ENV) env: Env,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {
    this.#cipher = env.GATEHOUSE_SECRETS_KEY === undefined ? undefined : new SecretsCipher(env.GATEHOUSE_SECRETS_KEY);
    this.#transportKey = deriveDataplaneSecretsKey(env.GATEHOUSE_DATAPLANE_TOKEN);
  }

  async attach(endpoints: readonly SyncEndpoint[]): Promise<SyncEndpoint[]> {
    const wanted = new Map<string, { vault: string; name: string }>();
    const perEndpoint = endpoints.map((endpoint) => {
      const references = endpoint.policy === null ? [] : this.#referencesOf(endpoint);
      for (const reference of references) wanted.set(`${reference.vault}\u0000${reference.name}`, reference);
      return references;
    });
    if (wanted.size === 0) return [...endpoints];
    const sealed = await this.#seal([...wanted.values()]);
    return endpoints.map((endpoint, index) => {
      const references = perEndpoint[index]!;
      if (endpoint.policy === null || references.length === 0) return endpoint;
      const secrets: SyncSecret[] = [];
      for (const { vault, name } of references) {
        const value = sealed.get(`${vault}\u0000${name}`);
        if (value !== undefined) secrets.push({ vault, name, sealed: value });
      }
      return { ...endpoint, policy: { ...endpoint.policy, secrets } };
    });
  }

  #referencesOf(endpoint: SyncEndpoint): { vault: string; name: string }[] {
    const policy = endpoint.policy!;
    const rules = policyOptionsFor(endpoint.type, endpoint.url);
    const key = `${endpoint.type}:${rules.acceptsConnections}:${policy.sha256}`;
    let references = this.#references.get(key);
    if (references === undefined) {
      references = policySecretReferences(policy.source, rules);
      if (this.#references.size >= MAX_CACHED) this.#references.clear();
      this.#references.set(key, references);
    }
    return references;
  }

  async #seal(pairs: { vault: string; name: string }[]): Promise<Map<string, string>> {
    const sealed = new Map<string, string>();
    const rows = await this.prisma.secret.findMany({
      where: { OR: pairs.map(({ vault, name }) => ({ vaultName: vault, name })) },
    });
    for (const row of rows) {
      const key = `${row.vaultName}\u0000${row.name}`;
      if (this.#cipher === undefined) {
        this.logger.error(
          { vault: row.vaultName, secret: row.name },
          'GATEHOUSE_SECRETS_KEY is not set; secret withheld',
        );
        continue;
      }
      try {
        const value = this.#cipher.open(row.vaultName, row.name, row);
        sealed.set(key, sealForDataplanes(this.#transportKey, row.vaultName, row.name, value));
      } catch (error) {
        this.logger.error(
          { vault: row.vaultName, secret: row.name, reason: error instanceof Error ? error.message : 'unknown' },
          'a stored secret could not be opened; data planes will fail requests that need it',
        );
      }
    }
    return sealed;
  }
}
