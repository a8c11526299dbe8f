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
    cookies: {
      type: 'map<string, list<Cookie>>',
      documentation: 'Request cookies by name; each a list of `Cookie` (`.value`, …). Prefer `getReqCookie(name)`.',
    },
    version: { type: 'string', documentation: 'The HTTP version (`HTTP/1.1`, `HTTP/2`).' },
    content_length: { type: 'int', documentation: 'The Content-Length header as a number (0 when absent).' },
    content_type: {
      type: 'ContentType',
      documentation: 'The Content-Type: compares equal to its media type (`application/json`); `.parameters`, `.raw`.',
    },
    user_agent: {
      type: 'UserAgent',
      documentation: 'The User-Agent, parsed: compares equal to the header; `.name`, `.os`, `.is_bot`, ….',
    },
    location: { type: 'string', documentation: 'The first Location header of the request; empty when absent.' },
    ts: { type: 'RequestTimes', documentation: 'When the request head and body were received.' },
    content_encoding: {
      type: 'list<string>',
      documentation: 'The codings of the Content-Encoding header, in order, lower-case (`["gzip"]`).',
    },
  },
  RequestTimes: {
    header_received: { type: 'google.protobuf.Timestamp', documentation: 'When the request head was read.' },
    body_received: {
      type: 'google.protobuf.Timestamp',
      documentation: 'When the body was read (the arrival time when no policy needed the body).',
    },
  },
  UserAgent: {
    name: { type: 'string', documentation: 'The browser or tool (`Chrome`, `Safari`, `curl`); empty when unknown.' },
    version: { type: 'string', documentation: 'Its version.' },
    os: { type: 'string', documentation: 'The operating system (`macOS`, `iOS`, `Windows`).' },
    os_version: { type: 'string', documentation: 'The operating system version.' },
    device: { type: 'string', documentation: 'The device, when the agent names one.' },
    is_mobile: { type: 'bool', documentation: 'True for phones.' },
    is_tablet: { type: 'bool', documentation: 'True for tablets.' },
    is_desktop: { type: 'bool', documentation: 'True for desktop browsers.' },
    is_bot: {
      type: 'bool',
      documentation: 'True for crawlers and agents that call themselves a bot, crawler or spider.',
    },
    url: { type: 'string', documentation: 'The first http(s) URL in the header; empty when none.' },
  },
  ContentType: {
    parameters: {
      type: 'map<string, string>',
      documentation: 'Its parameters (`charset`, `boundary`): names lower-case, values unquoted.',
    },
    raw: { type: 'string', documentation: 'The header as sent.' },
  },
  Cookie: {
    name: { type: 'string', documentation: 'The cookie name.' },
    value: { type: 'string', documentation: 'The cookie value.' },
    path: { type: 'string', documentation: 'The Path attribute (response cookies).' },
    domain: { type: 'string', documentation: 'The Domain attribute (response cookies).' },
    expires: {
      type: 'google.protobuf.Timestamp',
      documentation: 'The Expires attribute; year 1 when unset.',
    },
    max_age: { type: 'google.protobuf.Duration', documentation: 'The Max-Age attribute; 0 when unset.' },
    secure: { type: 'bool', documentation: 'True with the Secure attribute.' },
    http_only: { type: 'bool', documentation: 'True with the HttpOnly attribute.' },
    same_site: { type: 'string', documentation: 'The SameSite attribute (`Lax`, `Strict`, `None`).' },
    unparsed_attributes: { type: 'map<string, string>', documentation: 'Any other attributes, by name.' },
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
    authority: { type: 'string', documentation: "`host[:port]`, without the scheme's default port." },
    raw_path: {
      type: 'string',
      documentation: 'The path as it arrived (`url-rewrite` changes `path`, not this).',
    },
    uri: { type: 'string', documentation: 'The request target: `raw_path` and, when present, `?query`.' },
    raw: { type: 'string', documentation: 'The URL with the path as it arrived.' },
  },
  Response: {
    status_code: { type: 'int', documentation: 'The response status code.' },
    headers: { type: 'map<string, list<string>>', documentation: 'Response headers; keys are lower-case.' },
    content_type: {
      type: 'ContentType',
      documentation: 'The Content-Type of the response; compares equal to its media type, `.parameters`, `.raw`.',
    },
    content_length: { type: 'int', documentation: 'The Content-Length of the response (0 when absent).' },
    location: { type: 'string', documentation: 'The first Location header of the response; empty when absent.' },
    cookies: {
      type: 'map<string, list<Cookie>>',
      documentation: 'Cookies from every Set-Cookie header, longest `path` first. Prefer `getResCookie(name)`.',
    },
    content_encoding: {
      type: 'list<string>',
      documentation: 'The codings of the response Content-Encoding header, in order, lower-case.',
    },
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
    kind: {
      type: 'string',
      documentation:
        '`request`, `notification`, `response` (a client answering a server request) or `batch` (on_http_response; each element is judged as its own kind); empty when not MCP.',
    },
  },
  Connection: {
    client_ip: {
      type: 'ClientIp',
      documentation: 'The client address (after trusted proxies); compares equal to a string and has `.categories`.',
    },
    client_port: { type: 'int', documentation: 'The client port.' },
    server_ip: { type: 'string', documentation: 'The address the client connected to.' },
    server_port: { type: 'int', documentation: 'The port the client connected to.' },
    tls: { type: 'Tls', documentation: 'The TLS session and client certificate; empty strings on plain HTTP.' },
    ts: { type: 'ConnectionTimes', documentation: 'When the connection started.' },
    geo: {
      type: 'Geo',
      documentation:
        "Where the client IP is likely to be, from the data plane's geo database; empty strings when unknown.",
    },
    server_region: {
      type: 'string',
      documentation: "The data plane's region (GATEHOUSE_SERVER_REGION); empty when it is not set.",
    },
  },
  Geo: {
    city: { type: 'string', documentation: "The city, in English (`'Strongsville'`); needs a city database." },
    country: { type: 'string', documentation: "The country, in English (`'United States'`)." },
    country_code: { type: 'string', documentation: "The two-letter ISO 3166 country code (`'US'`)." },
    latitude: {
      type: 'string',
      documentation: 'The approximate latitude, as a string as ngrok types it: `double(conn.geo.latitude) >= 45.0`.',
    },
    longitude: { type: 'string', documentation: 'The approximate longitude, as a string.' },
    radius: {
      type: 'string',
      documentation: 'The radius in kilometres around latitude/longitude the address is likely within, as a string.',
    },
    subdivision: {
      type: 'string',
      documentation: "The largest subdivision (state, province), in English (`'California'`); needs a city database.",
    },
  },
  ConnectionTimes: {
    start: {
      type: 'google.protobuf.Timestamp',
      documentation: 'When the connection was accepted (HTTPS: when its handshake completed).',
    },
  },
  ClientIp: {
    categories: {
      type: 'list<string>',
      documentation: "Names of every IP category containing the client IP, e.g. `'com.anthropic.api' in …`.",
    },
    as: {
      type: 'AutonomousSystem',
      documentation: 'The autonomous system announcing the client IP (needs an ASN database).',
    },
    geo: {
      type: 'ClientIpGeo',
      documentation: '`.location` (where the address is used) and `.registered_location` (where it is registered).',
    },
    is_tor_node: {
      type: 'bool',
      documentation: 'True when a category `proxy.anonymous.tor` (or one under it) contains the client IP.',
    },
    is_on_blocklist: {
      type: 'bool',
      documentation: 'True when a category named `blocklist` or `blocklist.<feed>` contains the client IP.',
    },
  },
  ClientIpGeo: {
    location: { type: 'IpLocation', documentation: 'Where the address is used.' },
    registered_location: {
      type: 'IpRegisteredLocation',
      documentation: 'Where the address block is registered; can differ for CDNs, clouds and mobile carriers.',
    },
  },
  IpLocation: {
    country_code: {
      type: 'string',
      documentation: "The two-letter ISO country code (`'US'`); same as `conn.geo.country_code`.",
    },
    continent: { type: 'string', documentation: "The continent, in English (`'Europe'`, `'North America'`)." },
    is_eu: { type: 'bool', documentation: 'True when the country is a member state of the European Union.' },
  },
  IpRegisteredLocation: {
    country_code: {
      type: 'string',
      documentation: 'The two-letter ISO code of the country the block is registered in.',
    },
  },
  AutonomousSystem: {
    number: { type: 'int', documentation: 'The autonomous system number (`15169`); 0 when unknown.' },
    organization: { type: 'string', documentation: "The AS organization (`'GOOGLE'`); empty when unknown." },
  },
  Tls: {
    version: {
      type: 'string',
      documentation: "The TLS version as ngrok writes it (`1.2`, `1.3`), so `conn.tls.version < '1.3'` works.",
    },
    cipher_suite: { type: 'string', documentation: 'The negotiated cipher suite.' },
    sni: { type: 'string', documentation: 'The server name the client asked for.' },
    client: {
      type: 'ClientCertificate',
      documentation:
        'The client certificate the handshake verified (mutual TLS, `DATAPLANE_TLS_CLIENT_CA`); empty when there is none.',
    },
  },
  ClientCertificate: {
    subject: {
      type: 'DistinguishedName',
      documentation: 'Whom the certificate was issued to: `.common_name`, `.organization`, `.country`, …',
    },
    issuer: {
      type: 'DistinguishedName',
      documentation: 'The authority that issued the certificate: `.common_name`, `.organization`, …',
    },
    san: {
      type: 'SubjectAltNames',
      documentation: 'Subject alternative names: `.dns_names`, `.email_addresses`, `.ip_addresses`, `.uris`.',
    },
    serial_number: { type: 'string', documentation: "The serial number in lower-case hex (`'b53017e7…'`)." },
    signature_algorithm: {
      type: 'string',
      documentation: "The signing algorithm as ngrok names it (`'SHA256-RSA'`, `'ECDSA-SHA256'`).",
    },
    pem: { type: 'string', documentation: 'The whole certificate, PEM-encoded.' },
    validity: { type: 'CertificateValidity', documentation: '`.not_before` and `.not_after`.' },
  },
  DistinguishedName: {
    common_name: { type: 'string', documentation: 'The common name (CN).' },
    country: { type: 'list<string>', documentation: 'The country names (C).' },
    locality: { type: 'list<string>', documentation: 'The localities or cities (L).' },
    organization: { type: 'list<string>', documentation: 'The organizations (O).' },
    organizational_unit: { type: 'list<string>', documentation: 'The organizational units (OU).' },
    postal_code: { type: 'list<string>', documentation: 'The postal codes.' },
    province: { type: 'list<string>', documentation: 'The provinces or states (ST).' },
    street_address: { type: 'list<string>', documentation: 'The street addresses.' },
  },
  SubjectAltNames: {
    dns_names: { type: 'list<string>', documentation: 'DNS names.' },
    email_addresses: { type: 'list<string>', documentation: 'Email addresses.' },
    ip_addresses: { type: 'list<string>', documentation: 'IP addresses.' },
    uris: { type: 'list<string>', documentation: 'URIs.' },
  },
  CertificateValidity: {
    not_before: { type: 'google.protobuf.Timestamp', documentation: 'When the certificate becomes valid.' },
    not_after: { type: 'google.protobuf.Timestamp', documentation: 'When the certificate expires.' },
  },
  Endpoint: {
    id: { type: 'string', documentation: 'The endpoint id (`ep_…`).' },
    url: { type: 'string', documentation: 'The endpoint URL.' },
    host: { type: 'string', documentation: 'The host of the endpoint URL.' },
    type: { type: 'string', documentation: '`cloud` or `internal`.' },
    addr: { type: 'string', documentation: '`host:port` of the endpoint URL.' },
    port: { type: 'int', documentation: "The endpoint URL's port (the scheme's default when it has none)." },
    protocol: { type: 'string', documentation: 'The endpoint URL scheme (`https`).' },
  },
  Time: { now: { type: 'string', documentation: 'The request time as an RFC 3339 string.' } },
} as const satisfies Record<string, Record<string, CelFieldDeclaration>>;

export type CelObjectTypeName = keyof typeof celObjectTypes;

/** The `fields` argument of cel-js `registerType`: name → CEL type. */
export function celFieldTypes(typeName: CelObjectTypeName): Record<string, string> {
  const members: Record<string, CelFieldDeclaration> = celObjectTypes[typeName];
  return Object.fromEntries(Object.entries(members).map(([name, field]) => [name, field.type]));
}
