import type { RequestLogResponse, RequestLogSummary } from './request-logs.dto';
import type { RequestLogDetailRow, RequestLogRow } from './request-logs.repository';

function arrayOf<T>(value: unknown): T[] {
  return Array.isArray(value) ? (value as T[]) : [];
}

export function presentRequestLogSummary(row: RequestLogRow): RequestLogSummary {
  return {
    id: row.id,
    uri: `/api/request-logs/${encodeURIComponent(row.id)}`,
    seq: Number(row.seq),
    timestamp: row.timestamp.toISOString(),
    endpoint_id: row.endpoint_id,
    endpoint_url: row.endpoint_url,
    policy_version: row.policy_version,
    method: row.method,
    host: row.host,
    path: row.path,
    query: row.query,
    status: row.status,
    duration_ms: row.duration_ms,
    upstream_duration_ms: row.upstream_duration_ms,
    bytes_in: Number(row.bytes_in),
    bytes_out: Number(row.bytes_out),
    client_ip: row.client_ip,
    client_ip_categories: row.client_ip_categories,
    user_agent: row.user_agent,
    forwarded_to: row.forwarded_to,
    decision: (row.decision ?? null) as RequestLogSummary['decision'],
    rules_matched: arrayOf(row.rules_matched),
    error_code: row.error_code,
    logs: arrayOf(row.logs),
    mcp: (row.mcp ?? null) as RequestLogSummary['mcp'],
    caller: (row.caller ?? null) as RequestLogSummary['caller'],
    trace_id: row.trace_id,
    ai_gateway: (row.ai_gateway ?? null) as RequestLogSummary['ai_gateway'],
    shadow: (row.shadow ?? null) as RequestLogSummary['shadow'],
  };
}

export function presentRequestLog(row: RequestLogDetailRow): RequestLogResponse {
  const summary = presentRequestLogSummary(row);
  const endpointUri = row.endpoint_id === null ? null : `/api/endpoints/${encodeURIComponent(row.endpoint_id)}`;
  return {
    ...summary,
    endpoint_uri: endpointUri,
    policy_version_uri:
      endpointUri === null || row.policy_version === null
        ? null
        : `${endpointUri}/policy-versions/${row.policy_version}`,
    trace: arrayOf(row.trace),
    runtime_errors: arrayOf(row.runtime_errors),
    request_headers: (row.request_headers ?? null) as RequestLogResponse['request_headers'],
    response_headers: (row.response_headers ?? null) as RequestLogResponse['response_headers'],
    request_body: row.request_body,
    response_body: row.response_body,
  };
}
