import { Injectable } from '@nestjs/common';
import {
  type AnyEndpointType,
  policyOptionsFor,
  type RecordedRequest,
  replayDefaultLimit,
  type ReplayReport,
  type ReplayRequestBody,
} from '@gatehouse/contracts';
import { sha256Hex } from '../auth/secrets';
import { AppError } from '../common/app-error';
import { ErrorCode } from '../common/error-codes';
import {
  compilePolicy,
  diffReplayResults,
  recordedOutcome,
  replayRequests,
  type ReplayResult,
} from '../traffic-policy/policy-engine';
import { PolicyValidationService } from '../traffic-policy/policy-validation.service';
import { ReplayRepository } from './replay.repository';

/**
 * Replays run on the API's event loop (the engine is synchronous CPU work between short yields); at most this many at
 * once per process, so a burst of replays slows each other instead of every other route.
 */
const maxConcurrentReplays = 2;

/** What a replay cannot see, said with every report so nobody mistakes "no change" for "proven". */
const replayNotes = [
  'Only on_tcp_connect and on_http_request are replayed: recordings hold no responses.',
  'Bodies are not recorded: req.body and MCP tool arguments are empty in a replay.',
  'Authorization, Cookie and other redacted headers are replayed as fingerprints (equal values stay equal).',
  'secrets.get() and JWKS are not available: such steps fail as they would with the secret or JWKS unreachable.',
];

const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * "What would this draft do?" (issue 17 item 2): the newest recorded requests of an endpoint through the draft (or a
 * stored version) and through the baseline, both with the engine's memory ports, and the differences grouped.
 */
@Injectable()
export class ReplayService {
  #running = 0;

  constructor(
    private readonly replay: ReplayRepository,
    private readonly policies: PolicyValidationService,
  ) {}

  async replayPolicy(endpointId: string, body: ReplayRequestBody): Promise<ReplayReport> {
    const started = performance.now();
    const endpoint = await this.replay.findEndpoint(endpointId);
    if (endpoint === null) throw new AppError(ErrorCode.ENDPOINT_NOT_FOUND, `No endpoint with id ${endpointId}`);
    const rules = policyOptionsFor(endpoint.type as AnyEndpointType, endpoint.url);
    const type = rules.endpointType;
    let draftText: string;
    if (body.traffic_policy !== undefined) {
      await this.policies.assertPolicyValid(body.traffic_policy, type, rules.acceptsConnections);
      draftText = body.traffic_policy;
    } else {
      draftText = await this.requireVersion(endpointId, body.version!);
    }
    const baseline = body.baseline ?? 'active';
    let baselineText: string | null = null;
    if (baseline === 'active') {
      if (endpoint.activeVersion === null)
        throw new AppError(
          ErrorCode.VALIDATION_FAILED,
          'The endpoint has no active policy to compare with; send baseline: "recorded"',
          [{ path: 'baseline', message: 'the endpoint has no active policy version' }],
        );
      baselineText = await this.requireVersion(endpointId, endpoint.activeVersion);
    } else if (typeof baseline === 'number') baselineText = await this.requireVersion(endpointId, baseline);

    if (this.#running >= maxConcurrentReplays)
      throw new AppError(
        ErrorCode.REPLAY_BUSY,
        `${maxConcurrentReplays} replays are already running in this API process; retry in a few seconds`,
      );
    this.#running += 1;
    try {
      const rows = await this.replay.listRecordedRequests(endpointId, body.limit ?? replayDefaultLimit);
      // Oldest first by arrival time: rate limits and circuit breakers count in the order requests arrived. The newest
      // N are chosen by insertion order (seq), but several data planes batch separately, so seq interleaves them.
      rows.sort((a, b) => a.timestamp.getTime() - b.timestamp.getTime());
      const requests = rows.flatMap((row) =>
        isRecordedRequest(row.facts)
          ? [{ row, replayed: { id: row.id, timeMs: row.timestamp.getTime(), facts: row.facts } }]
          : [],
      );
      const replayed = requests.map((request) => request.replayed);
      const replayEndpoint = {
        id: endpoint.id,
        url: endpoint.url,
        host: endpoint.host,
        type: endpoint.type as AnyEndpointType,
      };
      const options = { pause: yieldToEventLoop };
      const draftResults = await replayRequests(compilePolicy(draftText, rules), replayed, replayEndpoint, options);
      const baselineResults: ReplayResult[] =
        baselineText === null
          ? requests.map(({ row }) => ({
              outcome: recordedOutcome({
                status: row.status,
                decision: decisionOf(row.decision),
                forwarded_to: row.forwarded_to,
              }),
              rateLimitKey: null,
            }))
          : await replayRequests(compilePolicy(baselineText, rules), replayed, replayEndpoint, options);
      const { groups, changed } = diffReplayResults(
        replayed.map((request) => request.id),
        baselineResults,
        draftResults,
      );
      return {
        endpoint_id: endpoint.id,
        draft: { version: body.version ?? null, sha256: sha256Hex(draftText) },
        baseline:
          baseline === 'active'
            ? { kind: 'active', version: endpoint.activeVersion }
            : baseline === 'recorded'
              ? { kind: 'recorded', version: null }
              : { kind: 'version', version: baseline },
        requests: replayed.length,
        changed,
        unchanged: replayed.length - changed,
        from: requests[0]?.row.timestamp.toISOString() ?? null,
        to: requests.at(-1)?.row.timestamp.toISOString() ?? null,
        duration_ms: Math.round(performance.now() - started),
        groups,
        notes: replayNotes,
      };
    } finally {
      this.#running -= 1;
    }
  }

  private async requireVersion(endpointId: string, version: number): Promise<string> {
    const source = await this.replay.findPolicySource(endpointId, version);
    if (source === null)
      throw new AppError(ErrorCode.POLICY_VERSION_NOT_FOUND, `Endpoint ${endpointId} has no policy version ${version}`);
    return source;
  }
}

/**
 * Facts are written only by the request-log worker, after RecordedRequestSchema parsed them, so a full parse here
 * would repeat work that costs about a tenth of a replay; this checks the shape the engine relies on, so a row
 * written some other way is skipped rather than failing the replay.
 */
function isRecordedRequest(value: unknown): value is RecordedRequest {
  if (value === null || typeof value !== 'object') return false;
  const facts = value as Record<string, unknown>;
  return (
    typeof facts.method === 'string' &&
    typeof facts.path === 'string' &&
    typeof facts.host === 'string' &&
    typeof facts.client_ip === 'string' &&
    Array.isArray(facts.headers) &&
    Array.isArray(facts.client_ip_categories)
  );
}

function decisionOf(
  value: unknown,
): { phase: string; rule_index: number; rule_name: string | null; action: string } | null {
  if (value === null || typeof value !== 'object') return null;
  const decision = value as Record<string, unknown>;
  if (
    typeof decision.phase !== 'string' ||
    typeof decision.rule_index !== 'number' ||
    typeof decision.action !== 'string'
  )
    return null;
  return {
    phase: decision.phase,
    rule_index: decision.rule_index,
    rule_name: typeof decision.rule_name === 'string' ? decision.rule_name : null,
    action: decision.action,
  };
}
