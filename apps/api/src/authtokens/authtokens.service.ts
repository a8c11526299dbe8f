import { randomBytes } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { ApiKeysRepository } from '../api-keys/api-keys.repository';
import type { RequestContext } from '../auth/actor';
import { randomToken, sha256Hex } from '../auth/secrets';
import { AppError } from '../common/app-error';
import { ErrorCode } from '../common/error-codes';
import { toPage } from '../common/pagination';
import { ConfigPublisherService } from '../config-publisher/config-publisher.service';
import type {
  AuthtokenListResponse,
  AuthtokenResponse,
  CreateAuthtokenInput,
  CreatedAuthtokenResponse,
  ListAuthtokensQuery,
} from './authtokens.dto';
import { presentAuthtoken } from './authtokens.presenter';
import { AuthtokensRepository } from './authtokens.repository';

/**
 * `gat_<8 hex>_<43 base64url>` (256 random bits). A prefix of its own, distinct from API keys' `gh_`, so a token pasted
 * in the wrong place is recognised: the API's bearer authentication never looks authtokens up.
 */
export const AUTHTOKEN_PREFIX = 'gat_';

function generateAuthtokenSecret(): { prefix: string; secret: string } {
  const prefix = `${AUTHTOKEN_PREFIX}${randomBytes(4).toString('hex')}`;
  return { prefix, secret: `${prefix}_${randomToken(32)}` };
}

@Injectable()
export class AuthtokensService {
  constructor(
    private readonly authtokens: AuthtokensRepository,
    private readonly apiKeys: ApiKeysRepository,
    private readonly publisher: ConfigPublisherService,
  ) {}

  async listAuthtokens(query: ListAuthtokensQuery): Promise<AuthtokenListResponse> {
    const rows = await this.authtokens.listAuthtokens(query.limit, {
      ...(query.before_id === undefined ? {} : { beforeId: query.before_id }),
      ...(query.revoked === undefined ? {} : { revoked: query.revoked === 'true' }),
    });
    const page = toPage(rows, query.limit, '/api/authtokens', query);
    return { authtokens: page.items.map(presentAuthtoken), next_page_uri: page.nextPageUri };
  }

  async getAuthtoken(id: string): Promise<AuthtokenResponse> {
    const token = await this.authtokens.findAuthtokenById(id);
    if (!token) throw new AppError(ErrorCode.AUTHTOKEN_NOT_FOUND, `No authtoken ${id}`);
    return presentAuthtoken(token);
  }

  async createAuthtoken(context: RequestContext, body: CreateAuthtokenInput): Promise<CreatedAuthtokenResponse> {
    const { prefix, secret } = generateAuthtokenSecret();
    const token = await this.authtokens.createAuthtoken(context, {
      description: body.description,
      prefix,
      secretHash: sha256Hex(secret),
      // Order kept as given, duplicates dropped: the list is shown back to people.
      urlPatterns: [...new Set(body.url_patterns)],
      createdById: await this.creatorOf(context),
    });
    return { ...presentAuthtoken(token), secret };
  }

  /** The user behind the request: the signed-in user, or the owner of the API key that made the call. */
  private async creatorOf(context: RequestContext): Promise<string | null> {
    if (context.actor.type === 'user') return context.actor.id;
    if (context.actor.type === 'api_key' && context.actor.id !== null)
      return (await this.apiKeys.findApiKeyById(context.actor.id))?.createdById ?? null;
    return null;
  }

  async revokeAuthtoken(context: RequestContext, id: string): Promise<void> {
    const ended = await this.authtokens.revokeAuthtoken(context, id, new Date());
    // Data planes hear `agent_session.ended` now and close those connections (issue 13: within 5 s).
    if (ended.length > 0) await this.publisher.publishAfterCommit();
  }
}
