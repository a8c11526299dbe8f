// The request events the request-log benches send: what a data plane reports of MCP traffic (request-logs.bench.ts,
// ingestion-memory.ts).
import { randomUUID } from 'node:crypto';

/** The bench's events are spread over this many endpoints (`ep_bench_0` …). */
export const benchEndpointCount = 20;

/** What a data plane records of an MCP client's POST (headers as such a client sends them, the token fingerprinted). */
export function replayFacts(index: number) {
  return {
    method: 'POST',
    scheme: 'https' as const,
    host: 'mcp.example.com',
    port: '443',
    path: '/mcp',
    query: '',
    http_version: '1.1',
    headers: [
      ['host', 'mcp.example.com'],
      ['user-agent', 'claude-mcp/1.0'],
      ['accept', 'application/json, text/event-stream'],
      ['content-type', 'application/json'],
      ['content-length', '310'],
      ['authorization', 'Bearer redacted:sha256:aa1921046c1891f9'],
      ['mcp-protocol-version', '2025-06-18'],
      ['mcp-session-id', `session-${index % 50}`],
      ['x-request-id', randomUUID()],
      ['traceparent', `00-${randomUUID().replaceAll('-', '')}-${'0'.repeat(15)}1-01`],
      ['accept-encoding', 'gzip, deflate, br'],
      ['connection', 'keep-alive'],
    ] as [string, string][],
    client_ip: `160.79.104.${index % 250}`,
    client_ip_categories: ['com.anthropic.api'],
    server_port: 443,
    tls: { version: 'TLSv1.3', cipher_suite: 'TLS_AES_128_GCM_SHA256', sni: 'mcp.example.com' },
    connection_started_at_ms: Date.now(),
    mcp: {
      kind: 'request' as const,
      method: 'tools/call',
      tool: `tool_${index % 12}`,
      protocol_version: '2025-06-18',
      session_id: `session-${index % 50}`,
    },
  };
}

/** The bench's request event number `index`: an MCP tools/call, some denied (401) and rate-limited (429). */
export function benchEvent(index: number, withReplayFacts = true) {
  const status = index % 10 === 0 ? 401 : index % 17 === 0 ? 429 : 200;
  const action = status === 401 ? 'deny' : status === 429 ? 'rate-limit' : 'forward-internal';
  return {
    id: randomUUID(),
    timestamp: new Date().toISOString(),
    endpoint_id: `ep_bench_${index % benchEndpointCount}`,
    endpoint_url: 'https://mcp.example.com',
    policy_version: 3,
    method: 'POST',
    host: 'mcp.example.com',
    path: '/mcp',
    query: '',
    status,
    duration_ms: 4.2,
    upstream_duration_ms: status === 200 ? 3.1 : null,
    bytes_in: 310,
    bytes_out: 1_024,
    client_ip: `160.79.104.${index % 250}`,
    client_ip_categories: ['com.anthropic.api'],
    user_agent: 'claude-mcp/1.0',
    forwarded_to: status === 200 ? 'https://mcp.example.internal' : null,
    decision: { phase: 'on_http_request' as const, rule_index: status === 200 ? 3 : 1, rule_name: null, action },
    rules_matched: [{ phase: 'on_http_request' as const, rule_index: 3, rule_name: null, endpoint_id: 'ep_bench' }],
    error_code: null,
    logs: [],
    mcp: { method: 'tools/call', tool: `tool_${index % 12}`, protocol_version: '2025-06-18' },
    trace_id: randomUUID().replaceAll('-', ''),
    runtime_errors: [],
    ...(withReplayFacts ? { replay: replayFacts(index) } : {}),
    trace: [0, 1, 2, 3].map((rule) => ({
      endpoint_id: 'ep_bench',
      phase: 'on_http_request' as const,
      rule_index: rule,
      rule_name: null,
      matched: rule === 3,
      actions: rule === 3 ? [{ type: action, result: 'forwarded' as const }] : [],
    })),
  };
}

/** Replay facts as `request_replay_facts.facts` holds them (the JSON the worker writes), to seed a table in use. */
export function storedReplayFacts(index: number): string {
  return JSON.stringify(replayFacts(index));
}
