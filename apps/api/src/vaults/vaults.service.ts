import { Inject, Injectable } from '@nestjs/common';
import type { RequestContext } from '../auth/actor';
import { AppError } from '../common/app-error';
import { ErrorCode } from '../common/error-codes';
import { ConfigPublisherService } from '../config-publisher/config-publisher.service';
import { checkSecretValues } from '../traffic-policy/policy-engine';
import { ENV, type Env } from '../env';
import type { Secret } from '../generated/prisma/client';
import type {
  CreateVaultInput,
  PutSecretInput,
  SecretListResponse,
  SecretResponse,
  VaultListResponse,
  VaultResponse,
} from './vaults.dto';
import { SecretsCipher } from './secrets-cipher';
import { VaultsRepository, type VaultWithSecrets } from './vaults.repository';

export function presentSecret(secret: Secret): SecretResponse {
  return {
    vault: secret.vaultName,
    name: secret.name,
    uri: `/api/vaults/${encodeURIComponent(secret.vaultName)}/secrets/${encodeURIComponent(secret.name)}`,
    description: secret.description,
    key_id: secret.keyId,
    created_by: secret.createdBy,
    updated_by: secret.updatedBy,
    created_at: secret.createdAt.toISOString(),
    updated_at: secret.updatedAt.toISOString(),
  };
}

function presentVault(vault: VaultWithSecrets): VaultResponse {
  return {
    name: vault.name,
    uri: `/api/vaults/${encodeURIComponent(vault.name)}`,
    description: vault.description,
    created_by: vault.createdBy,
    created_at: vault.createdAt.toISOString(),
    updated_at: vault.updatedAt.toISOString(),
    secrets: vault.secrets.map(presentSecret),
  };
}

/** Builds the cipher from GATEHOUSE_SECRETS_KEY; undefined when the key is not configured. */
export function secretsCipherFrom(env: Env): SecretsCipher | undefined {
  return env.GATEHOUSE_SECRETS_KEY === undefined ? undefined : new SecretsCipher(env.GATEHOUSE_SECRETS_KEY);
}

@Injectable()
export class VaultsService {
  readonly #cipher: SecretsCipher | undefined;

  constructor(
    private readonly vaults: VaultsRepository,
    private readonly publisher: ConfigPublisherService,
    @Inject(ENV) env: Env,
  ) {
    this.#cipher = secretsCipherFrom(env);
  }

  async listVaults(): Promise<VaultListResponse> {
    return { vaults: (await this.vaults.listVaults()).map(presentVault), next_page_uri: null };
  }

  async getVault(name: string): Promise<VaultResponse> {
    return presentVault(await this.#vault(name));
  }

  async createVault(context: RequestContext, body: CreateVaultInput): Promise<VaultResponse> {
    return presentVault(await this.vaults.createVault(context, body.name, body.description));
  }

  async deleteVault(context: RequestContext, name: string): Promise<void> {
    await this.vaults.deleteVault(context, name);
  }

  async listSecrets(vault: string): Promise<SecretListResponse> {
    return { secrets: (await this.#vault(vault)).secrets.map(presentSecret), next_page_uri: null };
  }

  async getSecret(vault: string, name: string): Promise<SecretResponse> {
    const secret = (await this.#vault(vault)).secrets.find((candidate) => candidate.name === name);
    if (!secret) throw new AppError(ErrorCode.SECRET_NOT_FOUND, `No secret ${name} in vault ${vault}`);
    return presentSecret(secret);
  }

  async putSecret(
    context: RequestContext,
    vault: string,
    name: string,
    body: PutSecretInput,
  ): Promise<{ secret: SecretResponse; created: boolean }> {
    const cipher = this.#requireCipher();
    await this.#assertRotationKeepsPoliciesWorking(cipher, vault, name, body.value);
    const { secret, created } = await this.vaults.putSecret(
      context,
      vault,
      name,
      cipher.seal(vault, name, body.value),
      body.description,
    );
    // A rotation appended endpoint changes: publish them now, so data planes switch within the propagation target.
    if (!created) await this.publisher.publishAfterCommit();
    return { secret: presentSecret(secret), created };
  }

  async deleteSecret(context: RequestContext, vault: string, name: string): Promise<void> {
    await this.vaults.deleteSecret(context, vault, name);
  }

  /**
   * A rotation is re-validated like a save: every active policy naming the secret is compiled with the new value (and
   * the stored values of the other secrets it names). A value a field computed from secrets cannot use — a basic-auth
   * password out of bounds, a JWKS URL that is no URL, a `json.decode` of text that is not JSON — would answer
   * SECRET_UNAVAILABLE on every request or be rejected by the data planes, so the rotation is refused (409) with each
   * place it breaks; the details name endpoints and positions, never a value. Checked before the write: a policy
   * saved between this check and the write was validated against the old value only (the window is one request).
   */
  async #assertRotationKeepsPoliciesWorking(
    cipher: SecretsCipher,
    vault: string,
    name: string,
    value: string,
  ): Promise<void> {
    const users = await this.vaults.findSecretUserPolicies(vault, name);
    if (users.length === 0) return;
    const key = (v: string, n: string) => `${v}\u0000${n}`;
    const pairs = new Map(users.flatMap((user) => user.secrets).map((pair) => [key(pair.vault, pair.name), pair]));
    const values = new Map<string, string>();
    for (const row of await this.vaults.findSecrets([...pairs.values()])) {
      try {
        values.set(key(row.vaultName, row.name), cipher.open(row.vaultName, row.name, row));
      } catch {
        // An unreadable stored secret is another problem (reported where it is used); it is not this rotation's.
      }
    }
    values.set(key(vault, name), value);
    const details = users.flatMap((user) =>
      checkSecretValues(user.source, {
        endpointType: user.endpointType,
        acceptsConnections: user.acceptsConnections,
        secrets: { get: (v, n) => values.get(key(v, n)) },
      }).map((problem) => ({
        code: 'SECRET_VALUE_UNUSABLE',
        message: `${user.url} (${user.id}): ${problem.message}`,
        path: problem.path,
        line: problem.line,
        column: problem.column,
      })),
    );
    if (details.length > 0) {
      throw new AppError(
        ErrorCode.SECRET_ROTATION_BREAKS_POLICY,
        `The new value of ${vault}/${name} does not fit ${details.length} place${details.length === 1 ? '' : 's'} in active policies; the secret was not changed`,
        details,
      );
    }
  }

  async #vault(name: string): Promise<VaultWithSecrets> {
    const vault = await this.vaults.findVault(name);
    if (!vault) throw new AppError(ErrorCode.VAULT_NOT_FOUND, `No vault ${name}`);
    return vault;
  }

  #requireCipher(): SecretsCipher {
    if (this.#cipher === undefined) {
      throw new AppError(
        ErrorCode.SECRETS_KEY_MISSING,
        'Secrets cannot be stored: GATEHOUSE_SECRETS_KEY is not configured on the control plane',
      );
    }
    return this.#cipher;
  }
}
