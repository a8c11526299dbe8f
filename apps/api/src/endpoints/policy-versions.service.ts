import { Injectable } from '@nestjs/common';
import type { RequestContext } from '../auth/actor';
import { AppError } from '../common/app-error';
import { ErrorCode } from '../common/error-codes';
import { ConfigPublisherService } from '../config-publisher/config-publisher.service';
import type {
  CreatePolicyVersionInput,
  ListPolicyVersionsQuery,
  PolicyVersionListResponse,
  PolicyVersionResponse,
  RestorePolicyVersionInput,
} from './endpoints.dto';
import { type EndpointWithPolicy, presentPolicyVersion } from './endpoints.presenter';
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

  private async requireEndpoint(id: string): Promise<EndpointWithPolicy> {
    const endpoint = await this.endpoints.findEndpointById(id);
    if (!endpoint) throw new AppError(ErrorCode.ENDPOINT_NOT_FOUND, `No endpoint ${id}`);
    return endpoint;
  }
}
