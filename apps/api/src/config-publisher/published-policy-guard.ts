import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from 'pino';
import {
  type ConfigChangeEvent,
  type ConfigSnapshot,
  policyOptionsFor,
  type SyncEndpoint,
  type SyncPolicy,
} from '@gatehouse/contracts';
import { sha256Hex } from '../auth/secrets';
import { LOGGER } from '../common/logger';
import { validatePolicyText } from '../traffic-policy/policy-engine';
import { ConfigRejectionsRepository } from './config-rejections.repository';

/** Verdicts kept per process; far above any real number of distinct policies, and cleared rather than grown past. */
const MAX_VERDICTS = 50_000;
const MAX_REPORTED = 10_000;

/**
 * Validates every policy version the control plane hands to data planes — snapshot, change listing and pub/sub —
 * not only the text a user saves: a row written into `policy_versions` without the API (a script, a restore, a bad
 * migration) must never reach traffic. An invalid version is replaced by `policy: null` with `policy_rejected` set, so
 * data planes keep what they run for that endpoint; the rejection is logged and audited (`policy_version.rejected`,
 * once per endpoint and version per process). Data planes check again on their side (sha256 and compile).
 */
@Injectable()
export class PublishedPolicyGuard {
  /** Problem (or null when valid) by `type:sha256-of-source:claimed-sha256`. */
  readonly #verdicts = new Map<string, string | null>();
  readonly #reported = new Set<string>();

  constructor(
    private readonly rejections: ConfigRejectionsRepository,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  vetSnapshot(snapshot: ConfigSnapshot): ConfigSnapshot {
    let changed = false;
    const endpoints = snapshot.endpoints.map((endpoint) => {
      const vetted = this.vetEndpoint(endpoint);
      if (vetted !== endpoint) changed = true;
      return vetted;
    });
    return changed ? { ...snapshot, endpoints } : snapshot;
  }

  vetChange(change: ConfigChangeEvent): ConfigChangeEvent {
    if (change.endpoint === null) return change;
    const endpoint = this.vetEndpoint(change.endpoint);
    return endpoint === change.endpoint ? change : { ...change, endpoint };
  }

  /** The endpoint itself when its policy may run, else a copy whose policy is withheld and marked rejected. */
  vetEndpoint(endpoint: SyncEndpoint): SyncEndpoint {
    const vetted = this.#vetActive(endpoint);
    const shadow = vetted.shadow_policy ?? null;
    if (shadow === null) return vetted;
    // A shadow enforces nothing, so an invalid one is simply withheld (logged), never a reason to touch the active one.
    const problem = this.#problemOf(vetted.type, vetted.url, { version: 1, ...shadow });
    if (problem === null) return vetted;
    this.logger.error({ endpoint: endpoint.id, reason: problem }, 'a stored shadow policy is invalid; withheld');
    return { ...vetted, shadow_policy: null };
  }

  #vetActive(endpoint: SyncEndpoint): SyncEndpoint {
    const policy = endpoint.policy;
    if (policy === null || (endpoint.policy_rejected ?? null) !== null) return endpoint;
    const problem = this.#problemOf(endpoint.type, endpoint.url, policy);
    if (problem === null) return endpoint;
    this.#report(endpoint, policy, problem);
    return { ...endpoint, policy: null, policy_rejected: { version: policy.version, reason: problem } };
  }

  #problemOf(type: SyncEndpoint['type'], url: string, policy: SyncPolicy): string | null {
    const actual = sha256Hex(policy.source);
    // The verdict depends on the rules the endpoint follows, which for an agent endpoint depend on its URL.
    const key = `${type}:${policyOptionsFor(type, url).acceptsConnections}:${actual}:${policy.sha256}`;
    const known = this.#verdicts.get(key);
    if (known !== undefined) return known;
    const problem = describeProblem(type, url, policy, actual);
    if (this.#verdicts.size >= MAX_VERDICTS) this.#verdicts.clear();
    this.#verdicts.set(key, problem);
    return problem;
  }

  #report(endpoint: SyncEndpoint, policy: SyncPolicy, reason: string): void {
    const key = `${endpoint.id}:${policy.version}:${policy.sha256}`;
    if (this.#reported.has(key)) return;
    if (this.#reported.size >= MAX_REPORTED) this.#reported.clear();
    this.#reported.add(key);
    this.logger.error(
      { endpoint: endpoint.id, version: policy.version, reason },
      'a stored policy version is invalid; data planes keep their previous policy for this endpoint',
    );
    this.rejections
      .recordPolicyRejection({ endpointId: endpoint.id, version: policy.version, sha256: policy.sha256, reason })
      .catch((error: unknown) => {
        // Audit again next time: the rejection itself still happened and was logged.
        this.#reported.delete(key);
        this.logger.warn({ err: error }, 'recording a policy rejection in the audit log failed');
      });
  }
}

function describeProblem(
  type: SyncEndpoint['type'],
  url: string,
  policy: SyncPolicy,
  actualSha256: string,
): string | null {
  if (policy.source.trim() === '') return `the stored source of policy version ${policy.version} is empty`;
  if (actualSha256 !== policy.sha256) {
    return `the stored sha256 of policy version ${policy.version} does not match its source`;
  }
  try {
    const result = validatePolicyText(policy.source, {
      ...policyOptionsFor(type, url),
      internalEndpointUrls: new Set(),
    });
    if (result.valid) return null;
    const issues = result.errors
      .slice(0, 3)
      .map((issue) => `${issue.code} at ${issue.line}:${issue.column} (${issue.message})`);
    return `policy version ${policy.version} does not validate: ${issues.join('; ')}`;
  } catch (error) {
    return `policy version ${policy.version} could not be validated: ${error instanceof Error ? error.message : String(error)}`;
  }
}
