import { randomBytes } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import type { RequestContext } from '../auth/actor';
import { randomToken, sha256Hex } from '../auth/secrets';
import { toPage } from '../common/pagination';
import type { ApiKeyListResponse, CreateApiKeyInput, CreatedApiKeyResponse } from './api-keys.dto';
import { presentApiKey } from './api-keys.presenter';
import { ApiKeysRepository } from './api-keys.repository';

export const API_KEY_PREFIX = 'gh_';

/** `gh_<8 hex>` is the visible prefix; the full secret is `gh_<8 hex>_<43 base64url>` (256 random bits). */
function generateApiKeySecret(): { prefix: string; secret: string } {
  const prefix = `${API_KEY_PREFIX}${randomBytes(4).toString('hex')}`;
  return { prefix, secret: `${prefix}_${randomToken(32)}` };
}

@Injectable()
export class ApiKeysService {
  constructor(private readonly apiKeys: ApiKeysRepository) {}

  async listApiKeys(query: { limit: number; before_id?: string }): Promise<ApiKeyListResponse> {
    const rows = await this.apiKeys.listApiKeys(query.limit, query.before_id);
    const page = toPage(rows, query.limit, '/api/api-keys', query);
    return { api_keys: page.items.map(presentApiKey), next_page_uri: page.nextPageUri };
  }

  async createApiKey(context: RequestContext, body: CreateApiKeyInput): Promise<CreatedApiKeyResponse> {
    const { prefix, secret } = generateApiKeySecret();
    const key = await this.apiKeys.createApiKey(context, {
      description: body.description,
      role: body.role,
      prefix,
      secretHash: sha256Hex(secret),
      createdById: await this.ownerOf(context),
    });
    return { ...presentApiKey(key), secret };
  }

  /**
   * Who owns a new key: the user who made it, or — when an API key made it — that key's owner, so the cap and the
   * revocation on delete follow a key minted by a key as well.
   */
  private async ownerOf(context: RequestContext): Promise<string | null> {
    if (context.actor.type === 'user') return context.actor.id;
    if (context.actor.type === 'api_key' && context.actor.id !== null) {
      return (await this.apiKeys.findApiKeyById(context.actor.id))?.createdById ?? null;
    }
    return null;
  }

  async deleteApiKey(context: RequestContext, id: string): Promise<void> {
    await this.apiKeys.deleteApiKey(context, id);
  }
}
