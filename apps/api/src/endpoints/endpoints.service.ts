import { parseEndpointUrl } from '@gatehouse/contracts';
import { Injectable } from '@nestjs/common';
import type { RequestContext } from '../auth/actor';
import { sha256Hex } from '../auth/secrets';
import { AppError } from '../common/app-error';
import { ErrorCode } from '../common/error-codes';
import { toPage } from '../common/pagination';
import { ConfigPublisherService } from '../config-publisher/config-publisher.service';
import type { PolicyTestCase } from '@gatehouse/contracts';
import type { PolicyIssue } from '../traffic-policy/policy-engine';
import { PolicyTestsService } from '../traffic-policy/policy-tests.service';
import { type EndpointType, PolicyValidationService } from '../traffic-policy/policy-validation.service';
import { requireEndpointUrl, requireUpstreamUrl } from './endpoint-url';
import type {
  CreateEndpointInput,
  EndpointListResponse,
  EndpointResponse,
  ListEndpointsQuery,
  UpdateEndpointInput,
} from './endpoints.dto';
import { presentEndpoint } from './endpoints.presenter';
import { OutboundTargetsService } from '../traffic-policy/outbound-targets.service';
import {
  assertNotAgentOwned,
  type EndpointChanges,
  EndpointsRepository,
  type NewPolicyVersion,
} from './endpoints.repository';

/** The stored spelling of a URL given as a filter; text that is no endpoint URL is kept as is (it matches nothing). */
function normalizeUrlForLookup(text: string): string {
  const checked = parseEndpointUrl(text);
  return checked.ok ? checked.value.url : text;
}

/** The test cases a new policy version is saved with, run before it is written (issue 17). */
export interface PolicyTestRun {
  endpoint: { id?: string; url: string };
  cases: PolicyTestCase[];
  allowFailing: boolean;
}

/** A version saved without `tests` keeps the cases of the version it replaces. */
export function inheritedTests(active: { tests: unknown } | null): PolicyTestCase[] {
  return (active?.tests ?? []) as PolicyTestCase[];
}

@Injectable()
export class EndpointsService {
  constructor(
    private readonly endpoints: EndpointsRepository,
    private readonly policies: PolicyValidationService,
    private readonly publisher: ConfigPublisherService,
    private readonly outbound: OutboundTargetsService,
    private readonly policyTests: PolicyTestsService,
  ) {}

  async listEndpoints(query: ListEndpointsQuery): Promise<EndpointListResponse> {
    const rows = await this.endpoints.listEndpoints({
      type: query.type,
      url: query.url === undefined ? undefined : normalizeUrlForLookup(query.url),
      beforeId: query.before_id,
      limit: query.limit,
    });
    const page = toPage(rows, query.limit, '/api/endpoints', query);
    return { endpoints: page.items.map((row) => presentEndpoint(row)), next_page_uri: page.nextPageUri };
  }

  async getEndpoint(id: string): Promise<EndpointResponse> {
    const endpoint = await this.endpoints.findEndpointById(id);
    if (!endpoint) throw new AppError(ErrorCode.ENDPOINT_NOT_FOUND, `No endpoint ${id}`);
    return presentEndpoint(endpoint);
  }

  async createEndpoint(context: RequestContext, body: CreateEndpointInput): Promise<EndpointResponse> {
    const address = requireEndpointUrl(body.url, body.type);
    const upstreamUrl = this.resolveUpstreamUrl(body.type, body.upstream_url ?? null);
    this.assertCaptureSupported(body.type, body.request_log_capture);
    const policyText = body.traffic_policy ?? '';
    if (body.type === 'cloud' && policyText.trim() === '') {
      throw new AppError(ErrorCode.POLICY_REQUIRED, 'A cloud endpoint needs a traffic_policy', [
        { path: 'traffic_policy', message: 'required for cloud endpoints' },
      ]);
    }
    // No policy means no version to store cases on; dropping them silently would hide that they never run.
    if (policyText.trim() === '' && (body.policy_tests?.length ?? 0) > 0) {
      throw new AppError(ErrorCode.VALIDATION_FAILED, 'policy_tests need a traffic_policy to test', [
        { path: 'policy_tests', message: 'give traffic_policy too, or leave policy_tests out' },
      ]);
    }
    const { policy, warnings } =
      policyText.trim() === ''
        ? { policy: null, warnings: undefined }
        : await this.preparePolicyVersion(context, policyText, body.type, body.policy_message, undefined, {
            endpoint: { url: address.url },
            cases: body.policy_tests ?? [],
            allowFailing: body.allow_failing_tests,
          });
    const created = await this.endpoints.createEndpoint(
      context,
      {
        ...address,
        type: body.type,
        description: body.description,
        metadata: body.metadata,
        upstreamUrl,
        upstreamHostHeader: body.upstream_host_header,
        requestLogCaptureHeaders: body.request_log_capture.headers,
        requestLogCaptureBodies: body.request_log_capture.bodies,
      },
      policy,
    );
    await this.publisher.publishAfterCommit();
    return presentEndpoint(created, warnings);
  }

  async updateEndpoint(context: RequestContext, id: string, body: UpdateEndpointInput): Promise<EndpointResponse> {
    const current = await this.endpoints.findEndpointById(id);
    if (!current) throw new AppError(ErrorCode.ENDPOINT_NOT_FOUND, `No endpoint ${id}`);
    assertNotAgentOwned(current);
    const changes: EndpointChanges = {};
    if (body.url !== undefined) {
      const address = requireEndpointUrl(body.url, current.type);
      if (address.proto !== current.proto) {
        throw new AppError(
          ErrorCode.ENDPOINT_SCHEME_IMMUTABLE,
          `The scheme of an endpoint cannot change (${current.proto} → ${address.proto}); create a new endpoint instead`,
          [{ path: 'url', message: 'scheme is fixed after creation' }],
        );
      }
      changes.url = address.url;
      changes.host = address.host;
      changes.port = address.port;
    }
    if (body.description !== undefined) changes.description = body.description;
    if (body.metadata !== undefined) changes.metadata = body.metadata;
    if (body.upstream_url !== undefined) {
      changes.upstreamUrl = this.resolveUpstreamUrl(current.type, body.upstream_url);
    }
    if (body.upstream_host_header !== undefined) changes.upstreamHostHeader = body.upstream_host_header;
    // Only a real difference counts: a PATCH that repeats the current capture setting writes nothing.
    const capture = body.request_log_capture;
    if (capture !== undefined) this.assertCaptureSupported(current.type, capture);
    if (capture?.headers !== undefined && capture.headers !== current.requestLogCaptureHeaders) {
      changes.requestLogCaptureHeaders = capture.headers;
    }
    if (capture?.bodies !== undefined && capture.bodies !== current.requestLogCaptureBodies) {
      changes.requestLogCaptureBodies = capture.bodies;
    }
    let prepared: { policy: NewPolicyVersion | null; warnings: PolicyIssue[] | undefined } = {
      policy: null,
      warnings: undefined,
    };
    if (body.traffic_policy !== undefined) {
      if (current.type === 'cloud' && body.traffic_policy.trim() === '') {
        throw new AppError(ErrorCode.POLICY_REQUIRED, 'A cloud endpoint needs a traffic_policy', [
          { path: 'traffic_policy', message: 'must not be empty for cloud endpoints' },
        ]);
      }
    }
    if (body.traffic_policy !== undefined || body.policy_tests !== undefined) {
      // Tests alone append a version of the active text: cases are versioned with the policy they were run against.
      prepared = await this.preparePolicyVersion(
        context,
        body.traffic_policy ?? current.activePolicy?.source ?? '',
        current.type,
        body.policy_message,
        undefined,
        {
          endpoint: { id: current.id, url: current.url },
          cases: body.policy_tests ?? inheritedTests(current.activePolicy),
          allowFailing: body.allow_failing_tests,
        },
      );
    }
    // Nothing to change: no write, no audit event, no config change.
    if (Object.keys(changes).length === 0 && !prepared.policy) return presentEndpoint(current);
    const updated = await this.endpoints.updateEndpoint(context, id, changes, prepared.policy);
    await this.publisher.publishAfterCommit();
    return presentEndpoint(updated, prepared.warnings);
  }

  async deleteEndpoint(context: RequestContext, id: string): Promise<void> {
    await this.endpoints.deleteEndpoint(context, id);
    await this.publisher.publishAfterCommit();
  }

  /** Validates the text (throwing POLICY_INVALID) and describes the version to append. */
  async preparePolicyVersion(
    context: RequestContext,
    text: string,
    type: EndpointType,
    message: string,
    restoredFrom?: number,
    testing?: PolicyTestRun,
  ): Promise<{ policy: NewPolicyVersion; warnings: PolicyIssue[] }> {
    const warnings = await this.policies.assertPolicyValid(text, type);
    const tests =
      testing === undefined
        ? undefined
        : await this.policyTests.runForSave(text, { ...testing.endpoint, type }, testing.cases, testing.allowFailing);
    return {
      policy: {
        source: text,
        sha256: sha256Hex(text),
        message,
        createdBy: context.actor.name,
        ...(restoredFrom === undefined ? {} : { restoredFrom }),
        ...tests,
      },
      warnings,
    };
  }

  /**
   * Data planes capture for the cloud endpoint a request arrives at, never for the internal endpoint it is forwarded
   * to: turning capture on there would silently do nothing.
   */
  private assertCaptureSupported(type: EndpointType, capture: { headers?: boolean; bodies?: boolean }): void {
    if (type === 'cloud' || (capture.headers !== true && capture.bodies !== true)) return;
    throw new AppError(
      ErrorCode.ENDPOINT_CAPTURE_UNSUPPORTED,
      'Request-log capture applies to the cloud endpoint that receives requests; turn it on there instead',
      [{ path: 'request_log_capture', message: 'internal endpoints cannot capture headers or bodies' }],
    );
  }

  /** Internal endpoints need an http(s) upstream_url; cloud endpoints never have one. */
  private resolveUpstreamUrl(type: EndpointType, upstreamUrl: string | null): string | null {
    if (type === 'cloud') {
      if (upstreamUrl !== null) {
        throw new AppError(ErrorCode.ENDPOINT_UPSTREAM_INVALID, 'Only internal endpoints have an upstream_url', [
          { path: 'upstream_url', message: 'cloud endpoints forward with a forward-internal action instead' },
        ]);
      }
      return null;
    }
    if (upstreamUrl === null) {
      throw new AppError(ErrorCode.ENDPOINT_UPSTREAM_INVALID, 'An internal endpoint needs an upstream_url', [
        { path: 'upstream_url', message: 'required for internal endpoints' },
      ]);
    }
    const normalized = requireUpstreamUrl(upstreamUrl);
    // Not the gateway itself (a forwarding loop), nor an address the operator's outbound rules refuse.
    this.outbound.assertUpstreamAllowed(normalized);
    return normalized;
  }
}
