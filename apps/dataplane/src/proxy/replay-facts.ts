import {
  alwaysRedactedHeaders,
  recordedHeadersMax,
  recordedHeaderValueMaxLength,
  type RecordedRequestInput,
} from '@gatehouse/contracts';
import { fingerprintRedactedValue } from '@gatehouse/runtime';
import type { ConnectionFacts, McpFacts, RequestFacts } from '@gatehouse/traffic-policy';

const secretHeaders = new Set(alwaysRedactedHeaders);

/**
 * Fingerprints of recently seen secret values. A client sends the same credential on every request, and a SHA-256
 * per secret header per request was a measurable share of a request's CPU (bench: seed policy, Authorization on
 * every request). Bounded: emptied whole when full, so a flood of distinct tokens costs a hash each, never memory.
 * The raw values it keys on are already in this process for the request's lifetime (and in rate-limit bucket keys).
 */
const fingerprintCache = new Map<string, string>();
const fingerprintCacheMax = 1_024;

function cachedFingerprint(value: string): string {
  let fingerprint = fingerprintCache.get(value);
  if (fingerprint === undefined) {
    if (fingerprintCache.size >= fingerprintCacheMax) fingerprintCache.clear();
    fingerprint = fingerprintRedactedValue(value);
    fingerprintCache.set(value, fingerprint);
  }
  return fingerprint;
}

/**
 * The facts a replay needs (contracts' RecordedRequest), copied at admission: policies change the request's headers
 * in place, and a replay must start from what the client sent. Secret header values become fingerprints here, so
 * they never leave the data plane; client IP categories and MCP facts are added when the event is built
 * (`withLateFacts`), once the policy and the body inspection have produced them.
 */
export function recordReplayFacts(
  request: RequestFacts,
  connection: ConnectionFacts,
): Omit<RecordedRequestInput, 'client_ip_categories' | 'mcp'> {
  const headers: [string, string][] = [];
  collect: for (const [name, values] of request.headers) {
    const secret = secretHeaders.has(name);
    for (const value of values) {
      if (headers.length >= recordedHeadersMax) break collect;
      const kept = secret ? cachedFingerprint(value) : value;
      headers.push([
        name,
        kept.length > recordedHeaderValueMaxLength ? kept.slice(0, recordedHeaderValueMaxLength) : kept,
      ]);
    }
  }
  return {
    method: request.method,
    scheme: request.scheme,
    host: request.host,
    port: request.port,
    path: request.path,
    query: request.query,
    ...(request.httpVersion === undefined ? {} : { http_version: request.httpVersion }),
    headers,
    client_ip: connection.clientIp,
    server_port: connection.serverPort,
    tls:
      connection.tls === undefined
        ? null
        : { version: connection.tls.version, cipher_suite: connection.tls.cipherSuite, sni: connection.tls.sni },
    ...(connection.startedAtMs === undefined ? {} : { connection_started_at_ms: connection.startedAtMs }),
  };
}

type RecordedMcp = NonNullable<RecordedRequestInput['mcp']>;

function recordedMcpMessage(mcp: McpFacts): Omit<RecordedMcp, 'messages'> {
  return {
    kind: mcp.kind,
    method: mcp.method,
    tool: mcp.tool,
    ...(mcp.names === undefined ? {} : { names: mcp.names }),
    protocol_version: mcp.protocolVersion,
    session_id: mcp.sessionId,
  };
}

/** The MCP facts a replay gets: method, tool, kind, session — never the arguments (they are the body). */
export function recordedMcp(mcp: McpFacts | undefined): RecordedMcp | null {
  if (mcp === undefined) return null;
  return {
    ...recordedMcpMessage(mcp),
    ...(mcp.messages === undefined ? {} : { messages: mcp.messages.slice(0, 100).map(recordedMcpMessage) }),
  };
}
