// `@gatehouse/contracts/testing`: complete, valid instances of the shared shapes, so every workspace's tests start
// from the same fixture and override only what they care about. Not imported by shipped code.
import type { SyncEndpoint } from '../config-sync.js';
import type { RecordedRequestInput } from '../replay.js';
import type { RequestEventInput } from '../request-events.js';

/** A request event with every field a data plane fills (the list fields included). */
export type SampleRequestEvent = RequestEventInput &
  Required<Pick<RequestEventInput, 'query' | 'client_ip_categories' | 'rules_matched' | 'logs' | 'runtime_errors'>>;

let eventCount = 0;

/**
 * The walkthrough's allowed MCP call (DESIGN.md §1): forwarded to the internal endpoint by rule 3. Each call has a
 * fresh `id` (the worker inserts idempotently by id, so two samples must never collide) and its own path.
 */
export function sampleRequestEvent(overrides: Partial<RequestEventInput> = {}): SampleRequestEvent {
  eventCount += 1;
  return {
    id: crypto.randomUUID(),
    timestamp: new Date().toISOString(),
    endpoint_id: 'ep_sample',
    endpoint_url: 'https://mcp.example.com',
    policy_version: 2,
    method: 'POST',
    host: 'mcp.example.com',
    path: `/mcp/${eventCount}`,
    query: '',
    status: 200,
    duration_ms: 3.5,
    upstream_duration_ms: 2.25,
    bytes_in: 120,
    bytes_out: 340,
    client_ip: '160.79.104.10',
    client_ip_categories: ['com.anthropic.api'],
    user_agent: 'mcp-client/1.0',
    forwarded_to: 'https://mcp.example.internal',
    decision: { phase: 'on_http_request', rule_index: 3, rule_name: 'forward', action: 'forward-internal' },
    rules_matched: [{ phase: 'on_http_request', rule_index: 3, rule_name: 'forward', endpoint_id: 'ep_sample' }],
    error_code: null,
    logs: [],
    mcp: { method: 'tools/call', tool: 'search', protocol_version: '2025-06-18' },
    caller: null,
    ai_gateway: null,
    trace_id: crypto.randomUUID().replaceAll('-', ''),
    runtime_errors: [],
    shadow: null,
    trace: [
      {
        endpoint_id: 'ep_sample',
        phase: 'on_http_request',
        rule_index: 0,
        rule_name: 'ip',
        matched: false,
        actions: [],
      },
      {
        endpoint_id: 'ep_sample',
        phase: 'on_http_request',
        rule_index: 3,
        rule_name: 'forward',
        matched: true,
        actions: [{ type: 'forward-internal', result: 'forwarded', detail: 'https://mcp.example.internal' }],
      },
    ],
    ...overrides,
  };
}

/** Replay facts as a data plane records them with a request (`RequestEventInput.replay`): a plain MCP POST. */
export function sampleRecordedRequest(overrides: Partial<RecordedRequestInput> = {}): RecordedRequestInput {
  return {
    method: 'POST',
    scheme: 'https',
    host: 'mcp.example.com',
    port: '443',
    path: '/mcp',
    query: '',
    headers: [['content-type', 'application/json']],
    client_ip: '203.0.113.7',
    client_ip_categories: [],
    server_port: 443,
    tls: null,
    mcp: null,
    ...overrides,
  };
}

/** The walkthrough's cloud endpoint as data planes receive it; pass `type: 'internal'` and an upstream for the other. */
export function sampleEndpoint(overrides: Partial<SyncEndpoint> = {}): SyncEndpoint {
  return {
    id: 'ep_sample',
    url: 'https://mcp.example.com',
    type: 'cloud',
    proto: 'https',
    host: 'mcp.example.com',
    port: 443,
    upstream_url: null,
    upstream_host_header: 'preserve',
    policy: { version: 1, sha256: 'a'.repeat(64), source: 'on_http_request: []' },
    request_log_capture: { headers: false, bodies: false },
    policy_rejected: null,
    agent: null,
    shadow_policy: null,
    ...overrides,
  };
}
