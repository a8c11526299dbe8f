import {
  AgentSessionRegistrationSchema,
  DATAPLANE_ROUTES,
  type AgentSessionApi,
  type AgentSessionLeaveRequest,
  type AgentSessionRegisterRequest,
  type AgentSessionRegistration,
} from '@gatehouse/contracts';
import { Agent, request } from 'undici';
import { ConfigApiError } from './config-source.js';

export type { AgentSessionApi };

/**
 * The distributed shape's AgentSessionApi: the control plane's agent-session routes over HTTP with the data-plane
 * token, like HttpConfigApi. The authtoken travels in the body and is never logged here.
 */
export class HttpAgentSessionApi implements AgentSessionApi {
  readonly #agent: Agent;
  readonly #baseUrl: string;

  constructor(
    apiUrl: string,
    private readonly token: string,
    private readonly timeoutMs = 10_000,
  ) {
    this.#baseUrl = apiUrl.replace(/\/+$/, '');
    this.#agent = new Agent({ connections: 4, headersTimeout: timeoutMs, bodyTimeout: timeoutMs });
  }

  async registerAgentSession(body: AgentSessionRegisterRequest): Promise<AgentSessionRegistration> {
    const response = await this.#post(DATAPLANE_ROUTES.agentSessions, body);
    const text = await response.body.text();
    if (response.statusCode < 200 || response.statusCode >= 300)
      throw new ConfigApiError(
        `POST ${DATAPLANE_ROUTES.agentSessions} answered ${response.statusCode}: ${text.slice(0, 300)}`,
        response.statusCode,
      );
    const parsed = AgentSessionRegistrationSchema.safeParse(JSON.parse(text));
    if (!parsed.success)
      throw new ConfigApiError(`POST ${DATAPLANE_ROUTES.agentSessions} answered a body that breaks the contract`);
    return parsed.data;
  }

  async leaveAgentSession(body: AgentSessionLeaveRequest): Promise<void> {
    const response = await this.#post(DATAPLANE_ROUTES.agentSessionLeave, body);
    const text = await response.body.text();
    if (response.statusCode < 200 || response.statusCode >= 300)
      throw new ConfigApiError(
        `POST ${DATAPLANE_ROUTES.agentSessionLeave} answered ${response.statusCode}: ${text.slice(0, 300)}`,
        response.statusCode,
      );
  }

  async close(): Promise<void> {
    await this.#agent.close();
  }

  #post(path: string, body: unknown) {
    return request(`${this.#baseUrl}${path}`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${this.token}`,
        accept: 'application/json',
        'content-type': 'application/json',
      },
      body: JSON.stringify(body),
      dispatcher: this.#agent,
      signal: AbortSignal.timeout(this.timeoutMs),
    });
  }
}
