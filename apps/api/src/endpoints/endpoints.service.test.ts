import { createHash } from 'node:crypto';
import { describe, expect, it, vi } from 'vitest';
import { SYSTEM_CONTEXT } from '../auth/actor';
import { AppError } from '../common/app-error';
import type { ConfigPublisherService } from '../config-publisher/config-publisher.service';
import type { PolicyValidationService } from '../traffic-policy/policy-validation.service';
import type { CreateEndpointInput } from './endpoints.dto';
import type { EndpointsRepository } from './endpoints.repository';
import { parseEnv } from '../env';
import { EndpointsService } from './endpoints.service';
import { OutboundTargetsService } from '../traffic-policy/outbound-targets.service';
import { PolicyTestsService } from '../traffic-policy/policy-tests.service';
import type { PrismaService } from '../database/prisma.service';

const notTerminating = {
  code: 'POLICY_NOT_TERMINATING',
  message: 'm',
  path: '/on_http_request',
  line: 2,
  column: 5,
  severity: 'error' as const,
};

function createService(policyValid: boolean) {
  const repository = { createEndpoint: vi.fn(), updateEndpoint: vi.fn(), findEndpointById: vi.fn() };
  const policies = {
    assertPolicyValid: vi.fn(() => {
      if (!policyValid) {
        return Promise.reject(new AppError('POLICY_INVALID', 'invalid', [notTerminating]));
      }
      return Promise.resolve([]);
    }),
  };
  const publisher = { publishAfterCommit: vi.fn(() => Promise.resolve()) };
  const service = new EndpointsService(
    repository as unknown as EndpointsRepository,
    policies as unknown as PolicyValidationService,
    publisher as unknown as ConfigPublisherService,
    new OutboundTargetsService(parseEnv({})),
    // These bodies carry no test cases, and with none the runner returns before it reads IP categories.
    new PolicyTestsService({} as PrismaService),
  );
  return { service, repository, policies, publisher };
}

const cloudBody: CreateEndpointInput = {
  url: 'https://a.example.com',
  type: 'cloud',
  description: '',
  metadata: '',
  traffic_policy: 'on_http_request: []',
  upstream_host_header: 'preserve',
  request_log_capture: { headers: false, bodies: false },
  policy_message: '',
  allow_failing_tests: false,
};

describe('EndpointsService (repositories stubbed)', () => {
  it('validates the policy before writing anything', async () => {
    const { service, repository, publisher } = createService(false);
    await expect(service.createEndpoint(SYSTEM_CONTEXT, cloudBody)).rejects.toMatchObject({ code: 'POLICY_INVALID' });
    expect(repository.createEndpoint).not.toHaveBeenCalled();
    expect(publisher.publishAfterCommit).not.toHaveBeenCalled();
  });

  it('checks the URL before validating the policy', async () => {
    const { service, policies } = createService(true);
    await expect(
      service.createEndpoint(SYSTEM_CONTEXT, { ...cloudBody, url: 'https://x.internal' }),
    ).rejects.toMatchObject({
      code: 'ENDPOINT_URL_INVALID',
    });
    expect(policies.assertPolicyValid).not.toHaveBeenCalled();
  });

  it('hashes the exact submitted text and publishes after the write', async () => {
    const { service, repository, publisher } = createService(true);
    const now = new Date();
    repository.createEndpoint.mockResolvedValue({
      id: 'ep_1',
      url: 'https://a.example.com',
      type: 'cloud',
      proto: 'https',
      host: 'a.example.com',
      port: 443,
      description: '',
      metadata: '',
      upstreamUrl: null,
      upstreamHostHeader: 'preserve',
      requestLogCaptureHeaders: false,
      requestLogCaptureBodies: false,
      activePolicyVersion: 1,
      createdAt: now,
      updatedAt: now,
      activePolicy: null,
    });
    await service.createEndpoint(SYSTEM_CONTEXT, cloudBody);
    const [, fields, policy] = repository.createEndpoint.mock.calls[0] as [
      unknown,
      { url: string },
      { source: string; sha256: string; createdBy: string },
    ];
    expect(fields.url).toBe('https://a.example.com');
    expect(policy).toEqual({
      source: 'on_http_request: []',
      sha256: createHash('sha256').update('on_http_request: []').digest('hex'),
      message: '',
      createdBy: 'system',
      tests: [],
      testResult: null,
    });
    expect(publisher.publishAfterCommit).toHaveBeenCalledOnce();
  });
});
