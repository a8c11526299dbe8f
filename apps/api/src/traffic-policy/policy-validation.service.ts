import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from 'pino';
import { AppError } from '../common/app-error';
import { ErrorCode } from '../common/error-codes';
import { LOGGER } from '../common/logger';
import { InternalEndpointUrlsRepository } from './internal-endpoint-urls.repository';
import { OutboundTargetsService } from './outbound-targets.service';
import { SecretNamesRepository } from './secret-names.repository';
import { type PolicyIssue, type PolicyValidationResult, policyFetchTargets, validatePolicyText } from './policy-engine';

export type EndpointType = 'cloud' | 'internal';

/**
 * Validates policy text with the engine. Never throws for bad text: an engine bug is logged and reported as one
 * POLICY_VALIDATOR_FAILED issue, so neither validation nor saving can answer a 500 because of a policy.
 */
@Injectable()
export class PolicyValidationService {
  constructor(
    @Inject(LOGGER) private readonly logger: Logger,
    private readonly internalEndpointUrls: InternalEndpointUrlsRepository,
    private readonly secretNames: SecretNamesRepository,
    private readonly outbound: OutboundTargetsService,
  ) {}

  /** `acceptsConnections`: on_tcp_connect is allowed (a public agent endpoint; contracts `policyOptionsFor`). */
  async validatePolicy(
    text: string,
    endpointType: EndpointType,
    acceptsConnections?: boolean,
  ): Promise<PolicyValidationResult> {
    const internalEndpointUrls = await this.internalEndpointUrls.listInternalEndpointUrls();
    // Names only (never values): a policy naming a secret that does not exist cannot be saved.
    const knownSecrets = text.includes('secrets') ? await this.secretNames.listSecretNames() : undefined;
    try {
      const result = validatePolicyText(text, {
        endpointType,
        ...(acceptsConnections === undefined ? {} : { acceptsConnections }),
        internalEndpointUrls,
        ...(knownSecrets === undefined ? {} : { knownSecrets }),
      });
      const refused = this.refusedFetchTargets(text);
      return refused.length === 0 ? result : { ...result, valid: false, errors: [...result.errors, ...refused] };
    } catch (error) {
      this.logger.error({ err: error }, 'the policy engine threw while validating');
      const issue: PolicyIssue = {
        code: 'POLICY_VALIDATOR_FAILED',
        message: 'The policy could not be validated (engine error); it was not saved',
        path: '',
        line: 1,
        column: 1,
        severity: 'error',
      };
      return { valid: false, errors: [issue], warnings: [] };
    }
  }

  /**
   * JWKS URLs, OpenID issuers and oauth token/userinfo URLs are fetched when a request arrives, on the editor's behalf
   * (what discovery names is judged by the data plane when it dials): the same outbound rules as upstreams apply
   * (and https only unless the allow list names the host), so a policy cannot point the gateway at the metadata
   * service, its own admin port or an internal network the operator did not open.
   */
  private refusedFetchTargets(text: string): PolicyIssue[] {
    return policyFetchTargets(text).flatMap(({ url, what, rules, path, line, column }) => {
      // A URL computed from secrets (`\${secrets.get(…)}`) is judged where its value is known: the data plane applies
      // the same fetch rules to the URL before every fetch (HttpJwksFetcher). Here only the `\${…}` text is known,
      // which is no URL, so judging it would refuse every such policy.
      if (url.includes('${')) return [];
      const verdict = rules === 'fetch' ? this.outbound.checkFetchUrl(url) : this.outbound.checkUpstreamUrl(url);
      if (verdict.allowed) return [];
      return [
        { code: verdict.code, message: `${what}: ${verdict.problem}`, path, line, column, severity: 'error' as const },
      ];
    });
  }

  /** Validates and throws POLICY_INVALID (400, every issue in details) unless the policy can be saved. */
  async assertPolicyValid(
    text: string,
    endpointType: EndpointType,
    acceptsConnections?: boolean,
  ): Promise<PolicyIssue[]> {
    const result = await this.validatePolicy(text, endpointType, acceptsConnections);
    if (!result.valid) {
      throw new AppError(
        ErrorCode.POLICY_INVALID,
        `The traffic policy is invalid (${result.errors.length} error${result.errors.length === 1 ? '' : 's'})`,
        result.errors.map(({ code, message, path, line, column }) => ({ code, message, path, line, column })),
      );
    }
    return result.warnings;
  }
}
