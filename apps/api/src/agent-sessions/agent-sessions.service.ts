import {
  AGENT_SESSION_GRACE_MS,
  type AgentEndpointDeclaration,
  type AgentEndpointOutcome,
  type AgentSessionApi,
  type AgentSessionLeaveRequest,
  AgentSessionLeaveRequestSchema,
  type AgentSessionRegisterRequest,
  AgentSessionRegisterRequestSchema,
  type AgentSessionRegistration,
  authtokenAllowsHost,
  parseEndpointUrl,
  policyOptionsFor,
} from '@gatehouse/contracts';
import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from 'pino';
import { sha256Hex } from '../auth/secrets';
import { AppError } from '../common/app-error';
import { ErrorCode } from '../common/error-codes';
import { LOGGER } from '../common/logger';
import { toPage } from '../common/pagination';
import { ConfigPublisherService } from '../config-publisher/config-publisher.service';
import type { Authtoken } from '../generated/prisma/client';
import { PolicyValidationService } from '../traffic-policy/policy-validation.service';
import type { AgentSessionListResponse, AgentSessionResponse, ListAgentSessionsQuery } from './agent-sessions.dto';
import { presentAgentSession } from './agent-sessions.presenter';
import { AgentSessionsRepository, authtokenContext, type EndpointClaim } from './agent-sessions.repository';

type Refused = Extract<AgentSessionRegistration, { status: 'refused' }>;

const refuse = (error_code: string, message: string): Refused => ({ status: 'refused', error_code, message });

function refusedOutcome(
  declared: Pick<AgentEndpointDeclaration, 'name' | 'url'>,
  errorCode: string,
  message: string,
  details: AgentEndpointOutcome['error'] extends infer E ? (E extends { details: infer D } ? D : never) : never = [],
): AgentEndpointOutcome {
  return {
    name: declared.name,
    url: declared.url,
    status: 'refused',
    endpoint_id: null,
    error: { error_code: errorCode, message, details },
  };
}

/**
 * The control plane's side of agent sessions (agent-tunnel.ts): data planes register the connections agents open to
 * them and report when they lose one; people read sessions. This class is the AgentSessionApi of the embedded shape
 * and what the /api/dataplane/agent-sessions routes call in the distributed one.
 */
@Injectable()
export class AgentSessionsService implements AgentSessionApi {
  constructor(
    private readonly sessions: AgentSessionsRepository,
    private readonly policies: PolicyValidationService,
    private readonly publisher: ConfigPublisherService,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  async registerAgentSession(input: AgentSessionRegisterRequest): Promise<AgentSessionRegistration> {
    // The HTTP route has parsed already; the embedded shape calls in directly, so both are held to the contract here.
    const parsed = AgentSessionRegisterRequestSchema.safeParse(input);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      return refuse(
        'AGENT_DECLARATION_INVALID',
        `The agent's declaration is invalid: ${issue ? `${issue.path.join('.')}: ${issue.message}` : 'unknown problem'}`,
      );
    }
    const request = parsed.data;
    const { declaration } = request;
    const names = declaration.endpoints.map((endpoint) => endpoint.name);
    const duplicate = names.find((name, index) => names.indexOf(name) !== index);
    if (duplicate !== undefined) {
      return refuse('AGENT_DECLARATION_INVALID', `The agent declares the endpoint name "${duplicate}" twice`);
    }
    const token = await this.sessions.findAuthtokenBySecretHash(sha256Hex(request.authtoken));
    if (!token) {
      return refuse(
        'AUTHTOKEN_INVALID',
        'The authtoken is not known to this gateway; create one (gatehouse authtokens create, or the dashboard) and put it in the agent config',
      );
    }
    if (token.revokedAt !== null) return this.revoked(token, token.revokedAt);
    const now = new Date();
    await this.sessions.touchAuthtoken(token.id, now);
    const context = authtokenContext(token, request.remote_address || null);
    const attached = await this.sessions.attachSession(
      context,
      token,
      {
        sessionKey: declaration.session_key,
        agentVersion: declaration.agent_version,
        hostname: declaration.hostname,
        remoteAddress: request.remote_address,
      },
      request.dataplane_id,
      now,
    );
    if (attached.status === 'revoked') return this.revoked(token, attached.revokedAt);
    if (attached.status === 'key-of-another-token') {
      return refuse(
        'AGENT_DECLARATION_INVALID',
        'This session_key belongs to a live session of another authtoken; restart the agent (it picks a new key)',
      );
    }
    const outcomes: AgentEndpointOutcome[] = [];
    const claimedUrls = new Set<string>();
    for (const declared of declaration.endpoints) {
      const outcome = await this.claim(context, attached.sessionId, token, declared, claimedUrls);
      if (outcome === 'session-ended') {
        await this.publisher.publishAfterCommit();
        return this.revoked(token, new Date());
      }
      outcomes.push(outcome);
    }
    await this.publisher.publishAfterCommit();
    this.logger.info(
      {
        session_id: attached.sessionId,
        started: attached.started,
        dataplane_id: request.dataplane_id,
        online: outcomes.filter((outcome) => outcome.status === 'online').length,
        refused: outcomes.filter((outcome) => outcome.status === 'refused').map((outcome) => outcome.error?.error_code),
      },
      'agent session registered',
    );
    return {
      status: 'accepted',
      session_id: attached.sessionId,
      endpoints: outcomes,
      dataplanes: await this.sessions.listLiveDataplanes(now),
    };
  }

  async leaveAgentSession(input: AgentSessionLeaveRequest): Promise<void> {
    const request = AgentSessionLeaveRequestSchema.parse(input);
    await this.sessions.leaveSession(request.session_id, request.dataplane_id, new Date());
  }

  /** One sweep: expire silent data planes' holds, then end sessions detached for longer than the grace period. */
  async sweep(now: Date = new Date(), graceMs: number = AGENT_SESSION_GRACE_MS): Promise<string[]> {
    const endable = await this.sessions.expireAndFindEndable(now, graceMs);
    const ended: string[] = [];
    const detachedBefore = new Date(now.getTime() - graceMs);
    for (const id of endable) {
      if (await this.sessions.endDetachedSession(id, detachedBefore, now)) ended.push(id);
    }
    if (ended.length > 0) {
      await this.publisher.publishAfterCommit();
      this.logger.info({ sessions: ended }, 'agent sessions ended: no data plane held them for the grace period');
    }
    return ended;
  }

  async listSessions(query: ListAgentSessionsQuery): Promise<AgentSessionListResponse> {
    const rows = await this.sessions.listSessions({
      limit: query.limit,
      ...(query.live === undefined ? {} : { live: query.live === 'true' }),
      ...(query.authtoken_id === undefined ? {} : { authtokenId: query.authtoken_id }),
      ...(query.before_id === undefined ? {} : { beforeId: query.before_id }),
    });
    const page = toPage(rows, query.limit, '/api/agent-sessions', query);
    return { agent_sessions: page.items.map(presentAgentSession), next_page_uri: page.nextPageUri };
  }

  async getSession(id: string): Promise<AgentSessionResponse> {
    const session = await this.sessions.findSession(id);
    if (!session) throw new AppError(ErrorCode.AGENT_SESSION_NOT_FOUND, `No agent session ${id}`);
    return presentAgentSession(session);
  }

  private revoked(token: Authtoken, revokedAt: Date): Refused {
    return refuse(
      'AUTHTOKEN_REVOKED',
      `The authtoken ${token.prefix}… was revoked at ${revokedAt.toISOString()}; create a new one and put it in the agent config`,
    );
  }

  private async claim(
    context: ReturnType<typeof authtokenContext>,
    sessionId: string,
    token: Authtoken,
    declared: AgentEndpointDeclaration,
    claimedUrls: Set<string>,
  ): Promise<AgentEndpointOutcome | 'session-ended'> {
    const address = parseEndpointUrl(declared.url);
    if (!address.ok) return refusedOutcome(declared, 'ENDPOINT_URL_INVALID', address.problem);
    const { url, host } = address.value;
    if (claimedUrls.has(url)) {
      return refusedOutcome(declared, 'ENDPOINT_URL_INVALID', `${url} is declared twice in this agent's config`);
    }
    claimedUrls.add(url);
    if (host.startsWith('*.')) {
      return refusedOutcome(
        declared,
        'ENDPOINT_URL_INVALID',
        `${host} is a wildcard; an agent endpoint serves one host name`,
      );
    }
    if (!authtokenAllowsHost(token.urlPatterns, host)) {
      return refusedOutcome(
        declared,
        'AUTHTOKEN_URL_NOT_ALLOWED',
        `The authtoken ${token.prefix}… may claim only ${token.urlPatterns.join(', ')}; ${host} is outside them`,
      );
    }
    const text =
      declared.traffic_policy !== null && declared.traffic_policy.trim() !== '' ? declared.traffic_policy : null;
    if (text !== null) {
      const { endpointType, acceptsConnections } = policyOptionsFor('agent', url);
      const result = await this.policies.validatePolicy(text, endpointType, acceptsConnections);
      if (!result.valid) {
        return refusedOutcome(
          declared,
          'POLICY_INVALID',
          `The traffic_policy of ${declared.name} is invalid (${result.errors.length} error${result.errors.length === 1 ? '' : 's'})`,
          result.errors.map(({ code, message, path, line, column }) => ({ code, message, path, line, column })),
        );
      }
    }
    const claim: EndpointClaim = {
      address: address.value,
      description: declared.description,
      metadata: declared.metadata,
      upstream: declared.upstream,
      upstreamProtocol: declared.upstream_protocol,
      poolingEnabled: declared.pooling_enabled,
      policy: text === null ? null : { source: text, sha256: sha256Hex(text) },
    };
    const result = await this.sessions.claimEndpoint(context, sessionId, claim, new Date());
    if (result.status === 'session-ended') return 'session-ended';
    if (result.status === 'refused') return refusedOutcome(declared, result.errorCode, result.message);
    return { name: declared.name, url, status: 'online', endpoint_id: result.endpointId, error: null };
  }
}
