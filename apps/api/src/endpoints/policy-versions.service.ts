import { Injectable } from '@nestjs/common';
import type { RequestContext } from '../auth/actor';
import { AppError } from '../common/app-error';
import { ErrorCode } from '../common/error-codes';
import { ConfigPublisherService } from '../config-publisher/config-publisher.service';
import type {
  CreatePolicyVersionInput,
  EndpointResponse,
  PromoteShadowPolicyInput,
  PublishShadowPolicyInput,
  ListPolicyVersionsQuery,
  PolicyVersionListResponse,
  PolicyVersionResponse,
  RestorePolicyVersionInput,
} from './endpoints.dto';
import { type EndpointWithPolicy, presentEndpoint, presentPolicyVersion } from './endpoints.presenter';
import { assertNotAgentOwned, EndpointsRepository } from './endpoints.repository';
import { EndpointsService, inheritedTests } from './endpoints.service';

@Injectable()
export class PolicyVersionsService {
  constructor(
    private readonly endpoints: EndpointsRepository,
    private readonly endpointsService: EndpointsService,
    private readonly publisher: ConfigPublisherService,
  ) {}

  async listPolicyVersions(endpointId: string, query: ListPolicyVersionsQuery): Promise<PolicyVersionListResponse> {
    const endpoint = await this.requireEndpoint(endpointId);
    const rows = await this.endpoints.listPolicyVersions(endpointId, query.limit, query.before_version);
    const versions = rows.slice(0, query.limit);
    const last = versions.at(-1);
    const nextPageUri =
      rows.length > query.limit && last
        ? `/api/endpoints/${endpointId}/policy-versions?limit=${query.limit}&before_version=${last.version}`
        : null;
    return {
      versions: versions.map((version) => presentPolicyVersion(version, endpoint.activePolicy?.version ?? null)),
      next_page_uri: nextPageUri,
    };
  }

  async getPolicyVersion(endpointId: string, versionNumber: number): Promise<PolicyVersionResponse> {
    const endpoint = await this.requireEndpoint(endpointId);
    const version = await this.endpoints.findPolicyVersion(endpointId, versionNumber);
    if (!version) {
      throw new AppError(
        ErrorCode.POLICY_VERSION_NOT_FOUND,
        `Endpoint ${endpointId} has no policy version ${versionNumber}`,
      );
    }
    return presentPolicyVersion(version, endpoint.activePolicy?.version ?? null);
  }

  async createPolicyVersion(
    context: RequestContext,
    endpointId: string,
    body: CreatePolicyVersionInput,
  ): Promise<PolicyVersionResponse> {
    const endpoint = await this.requireEndpoint(endpointId);
    assertNotAgentOwned(endpoint);
    if (endpoint.type === 'cloud' && body.traffic_policy.trim() === '') {
      throw new AppError(ErrorCode.POLICY_REQUIRED, 'A cloud endpoint needs a traffic_policy', [
        { path: 'traffic_policy', message: 'must not be empty for cloud endpoints' },
      ]);
    }
    const { policy, warnings } = await this.endpointsService.preparePolicyVersion(
      context,
      body.traffic_policy,
      endpoint.type,
      body.message,
      undefined,
      {
        endpoint: { id: endpoint.id, url: endpoint.url },
        cases: body.tests ?? inheritedTests(endpoint.activePolicy),
        allowFailing: body.allow_failing_tests,
      },
    );
    const { version } = await this.endpoints.appendPolicyVersion(context, endpointId, policy);
    await this.publisher.publishAfterCommit();
    return presentPolicyVersion(version, version.version, warnings);
  }

  /** Appends a copy of version N as the newest version: history stays linear and records the rollback. */
  async restorePolicyVersion(
    context: RequestContext,
    endpointId: string,
    versionNumber: number,
    body: RestorePolicyVersionInput,
  ): Promise<PolicyVersionResponse> {
    const endpoint = await this.requireEndpoint(endpointId);
    assertNotAgentOwned(endpoint);
    const source = await this.endpoints.findPolicyVersion(endpointId, versionNumber);
    if (!source) {
      throw new AppError(
        ErrorCode.POLICY_VERSION_NOT_FOUND,
        `Endpoint ${endpointId} has no policy version ${versionNumber}`,
      );
    }
    // Restoring is a save like any other: the old text must still validate (the engine or the endpoints may have changed).
    const { policy, warnings } = await this.endpointsService.preparePolicyVersion(
      context,
      source.source,
      endpoint.type,
      body.message ?? `Restored version ${versionNumber}`,
      versionNumber,
      // The restored text must pass today's cases: restoring is how an old behaviour comes back unnoticed.
      {
        endpoint: { id: endpoint.id, url: endpoint.url },
        cases: inheritedTests(endpoint.activePolicy),
        allowFailing: body.allow_failing_tests ?? false,
      },
    );
    const { version } = await this.endpoints.appendPolicyVersion(context, endpointId, policy);
    await this.publisher.publishAfterCommit();
    return presentPolicyVersion(version, version.version, warnings);
  }

  /**
   * Publishes a shadow policy (a new text, or a copy of an existing version): validated like a save, then evaluated by
   * data planes beside the active policy without being enforced. Test cases are not run: nothing is enforced yet, and
   * promoting runs them.
   */
  async publishShadowPolicy(
    context: RequestContext,
    endpointId: string,
    body: PublishShadowPolicyInput,
  ): Promise<EndpointResponse> {
    const endpoint = await this.requireEndpoint(endpointId);
    assertNotAgentOwned(endpoint);
    let text = body.traffic_policy;
    if (body.from_version !== undefined) {
      const source = await this.endpoints.findPolicyVersion(endpointId, body.from_version);
      if (!source) {
        throw new AppError(
          ErrorCode.POLICY_VERSION_NOT_FOUND,
          `Endpoint ${endpointId} has no policy version ${body.from_version}`,
        );
      }
      text = source.source;
    }
    const { policy, warnings } = await this.endpointsService.preparePolicyVersion(
      context,
      text ?? '',
      endpoint.type,
      body.message || (body.from_version === undefined ? '' : `Shadow of version ${body.from_version}`),
    );
    const updated = await this.endpoints.setShadowPolicy(context, endpointId, {
      source: policy.source,
      sha256: policy.sha256,
      message: policy.message,
    });
    await this.publisher.publishAfterCommit();
    return presentEndpoint(updated, warnings);
  }

  async discardShadowPolicy(context: RequestContext, endpointId: string): Promise<EndpointResponse> {
    await this.requireEndpoint(endpointId);
    const updated = await this.endpoints.setShadowPolicy(context, endpointId, null);
    await this.publisher.publishAfterCommit();
    return presentEndpoint(updated);
  }

  /** Saves the shadow as the next version (a save like any other: validated, tests run) and clears the shadow. */
  async promoteShadowPolicy(
    context: RequestContext,
    endpointId: string,
    body: PromoteShadowPolicyInput,
  ): Promise<PolicyVersionResponse> {
    const endpoint = await this.requireEndpoint(endpointId);
    assertNotAgentOwned(endpoint);
    if (endpoint.shadowPolicySource === null || endpoint.shadowPolicySha256 === null)
      throw new AppError(ErrorCode.SHADOW_POLICY_NOT_FOUND, `Endpoint ${endpointId} has no shadow policy`);
    if (endpoint.shadowPolicySha256 !== body.sha256) {
      throw new AppError(
        ErrorCode.SHADOW_POLICY_CHANGED,
        'The shadow policy was replaced or discarded meanwhile; reload it and promote again',
      );
    }
    const { policy, warnings } = await this.endpointsService.preparePolicyVersion(
      context,
      endpoint.shadowPolicySource,
      endpoint.type,
      body.message ?? (endpoint.shadowPolicyMessage || 'Promoted the shadow policy'),
      undefined,
      {
        endpoint: { id: endpoint.id, url: endpoint.url },
        cases: inheritedTests(endpoint.activePolicy),
        allowFailing: body.allow_failing_tests,
      },
    );
    const { version } = await this.endpoints.appendPolicyVersion(context, endpointId, policy, {
      promoteShadow: body.sha256,
    });
    await this.publisher.publishAfterCommit();
    return presentPolicyVersion(version, version.version, warnings);
  }

  private async requireEndpoint(id: string): Promise<EndpointWithPolicy> {
    const endpoint = await this.endpoints.findEndpointById(id);
    if (!endpoint) throw new AppError(ErrorCode.ENDPOINT_NOT_FOUND, `No endpoint ${id}`);
    return endpoint;
  }
}
