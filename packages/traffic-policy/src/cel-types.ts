/**
 * The members of every object type policies see in CEL, with their documentation. One table feeds both the CEL
 * environment (the checker's field types) and the catalog the editor completes from, so a field cannot exist in one
 * and be missing from the other.
 */

export interface CelFieldDeclaration {
  readonly type: string;
  readonly documentation: string;
}

export const celObjectTypes = {
  Request: {
    method: { type: 'string', documentation: 'The request method, upper-case (`GET`, `POST`, …).' },
    url: {
      type: 'RequestUrl',
      documentation: 'The URL as received; compares equal to the full URL string and has `.path`, `.query`, ….',
    },
    host: { type: 'string', documentation: 'The Host header without the port.' },
    headers: {
      type: 'map<string, list<string>>',
      documentation: 'Request headers; keys are lower-case, values are lists. Prefer `hasReqHeader(name)`.',
    },
    cookies: { type: 'map<string, list<string>>', documentation: 'Request cookies by name; values are lists.' },
    version: { type: 'string', documentation: 'The HTTP version (`HTTP/1.1`, `HTTP/2`).' },
    content_length: { type: 'int', documentation: 'The Content-Length header as a number (0 when absent).' },
    content_type: { type: 'string', documentation: 'The Content-Type header.' },
    user_agent: { type: 'string', documentation: 'The User-Agent header.' },
  },
  RequestUrl: {
    scheme: { type: 'string', documentation: '`http` or `https`.' },
    host: { type: 'string', documentation: 'The host part of the URL.' },
    port: { type: 'string', documentation: 'The port as a string; empty when not in the URL.' },
    path: { type: 'string', documentation: 'The path, starting with `/`.' },
    query: { type: 'string', documentation: 'The raw query string without the leading `?`.' },
    query_params: {
      type: 'map<string, list<string>>',
      documentation: 'The decoded query: name → list of values. Prefer `hasQueryParam(name)`.',
    },
  },
  Response: {
    status_code: { type: 'int', documentation: 'The response status code.' },
    headers: { type: 'map<string, list<string>>', documentation: 'Response headers; keys are lower-case.' },
    content_type: { type: 'string', documentation: 'The Content-Type of the response.' },
    content_length: { type: 'int', documentation: 'The Content-Length of the response (0 when absent).' },
  },
  Mcp: {
    method: {
      type: 'string',
      documentation: 'The JSON-RPC method (`tools/call`, `tools/list`, …); empty when not MCP.',
    },
    tool: { type: 'string', documentation: 'The tool (or prompt/resource) named by a call; empty otherwise.' },
    arguments: { type: 'map<string, dyn>', documentation: 'The arguments of a tools/call.' },
    session_id: { type: 'string', documentation: 'The Mcp-Session-Id header.' },
    protocol_version: { type: 'string', documentation: 'The MCP-Protocol-Version header.' },
    kind: { type: 'string', documentation: '`request`, `notification` or `response`; empty when not MCP.' },
  },
  Connection: {
    client_ip: {
      type: 'ClientIp',
      documentation: 'The client address (after trusted proxies); compares equal to a string and has `.categories`.',
    },
    client_port: { type: 'int', documentation: 'The client port.' },
    server_ip: { type: 'string', documentation: 'The address the client connected to.' },
    server_port: { type: 'int', documentation: 'The port the client connected to.' },
    tls: { type: 'Tls', documentation: 'The TLS session; empty strings on plain HTTP.' },
  },
  ClientIp: {
    categories: {
      type: 'list<string>',
      documentation: "Names of every IP category containing the client IP, e.g. `'com.anthropic.api' in …`.",
    },
  },
  Tls: {
    version: { type: 'string', documentation: 'The TLS version (`TLSv1.3`).' },
    cipher_suite: { type: 'string', documentation: 'The negotiated cipher suite.' },
    sni: { type: 'string', documentation: 'The server name the client asked for.' },
  },
  Endpoint: {
    id: { type: 'string', documentation: 'The endpoint id (`ep_…`).' },
    url: { type: 'string', documentation: 'The endpoint URL.' },
    host: { type: 'string', documentation: 'The host of the endpoint URL.' },
    type: { type: 'string', documentation: '`cloud` or `internal`.' },
  },
  Time: { now: { type: 'string', documentation: 'The request time as an RFC 3339 string.' } },
} as const satisfies Record<string, Record<string, CelFieldDeclaration>>;

export type CelObjectTypeName = keyof typeof celObjectTypes;

/** The `fields` argument of cel-js `registerType`: name → CEL type. */
export function celFieldTypes(typeName: CelObjectTypeName): Record<string, string> {
  const members: Record<string, CelFieldDeclaration> = celObjectTypes[typeName];
  return Object.fromEntries(Object.entries(members).map(([name, field]) => [name, field.type]));
}
