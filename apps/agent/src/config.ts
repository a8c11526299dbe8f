import {
  AgentEndpointDeclarationSchema,
  agentUpstreamProtocols,
  parseEndpointUrl,
  policyEndpointType,
  policyOptionsFor,
  type AgentEndpointDeclaration,
} from '@gatehouse/contracts';
import type { validatePolicy } from '@gatehouse/traffic-policy';
import { isMap, isScalar, LineCounter, parseDocument, stringify, type Document, type Node } from 'yaml';
import { z } from 'zod';

/**
 * The agent's config file, in the shape of ngrok's agent config v3 (so people can bring theirs): `version: 3`, an
 * `agent` block and `endpoints[]`. Strict: an unknown field is an error, never silently ignored, and every error is
 * reported as `file:line:col: message` from the YAML node it is about.
 */

/** Where the embedded install (`npm start`) listens for traffic: the default connect_url. */
export const defaultConnectUrl = 'http://127.0.0.1:8080';

const upstreamSchema = z.strictObject({
  url: z.union([z.number().int().min(1).max(65_535), z.string().min(1).max(2048)]),
  protocol: z.enum(agentUpstreamProtocols).default('http1'),
});

const endpointSchema = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'a name is 1-64 letters, digits, ".", "_" or "-"'),
  url: z.string().min(1).max(2048),
  upstream: upstreamSchema,
  description: z.string().max(255).default(''),
  metadata: z.string().max(4096).default(''),
  pooling_enabled: z.boolean().default(false),
  traffic_policy: z.union([z.string(), z.record(z.string(), z.unknown())]).optional(),
});

const fileSchema = z.strictObject({
  version: z.union([z.literal(3), z.literal('3')], { error: 'version must be 3 (the ngrok agent config v3 shape)' }),
  agent: z
    .strictObject({
      authtoken: z.string().min(1, 'agent.authtoken is empty').max(256),
      connect_url: z.string().min(1).default(defaultConnectUrl),
    })
    .optional(),
  endpoints: z.array(endpointSchema).min(1, 'declare at least one endpoint').max(100),
});

export interface AgentConfig {
  authtoken: string | undefined;
  connectUrl: string;
  endpoints: AgentEndpointDeclaration[];
}

export interface ConfigProblem {
  line: number;
  column: number;
  message: string;
}

export type ConfigResult = { ok: true; config: AgentConfig } | { ok: false; problems: ConfigProblem[] };

/** `file:line:col: message`, the form editors and terminals link to. */
export function formatProblem(file: string, problem: ConfigProblem): string {
  return `${file}:${problem.line}:${problem.column}: ${problem.message}`;
}

type Path = readonly (string | number)[];

/**
 * The policy engine, imported only by a config that declares a traffic_policy: it is most of what the agent would
 * otherwise load (CEL, its regular expressions, the public suffix list, user-agent and IP tables: 5.7 MB of heap and
 * ~11 MB of RSS after a full GC), and `gatehouse-agent http 3333` or a config without policies never needs it.
 */
let policyEngine: Promise<{ validatePolicy: typeof validatePolicy }> | undefined;
const loadPolicyEngine = () => (policyEngine ??= import('@gatehouse/traffic-policy'));

/** Parses and checks a config file's text; `env` resolves `${NAME}` in string values. Never rejects. */
export async function parseAgentConfig(
  text: string,
  env: Readonly<Record<string, string | undefined>>,
): Promise<ConfigResult> {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const at = (offset: number): { line: number; column: number } => {
    const position = lineCounter.linePos(offset);
    return { line: position.line, column: position.col };
  };
  if (doc.errors.length > 0) {
    return {
      ok: false,
      problems: doc.errors.map((error) => ({ ...at(error.pos[0]), message: firstLine(error.message) })),
    };
  }
  const problems: ConfigProblem[] = [];
  const nodeAt = (path: Path): Node | undefined => nodeOf(doc, path);
  const positionOf = (path: Path): { line: number; column: number } => {
    for (let length = path.length; length >= 0; length--) {
      const node = nodeAt(path.slice(0, length));
      if (node?.range !== undefined && node.range !== null) return at(node.range[0]);
    }
    return { line: 1, column: 1 };
  };

  // Every stage reports what it finds and the next one still runs on whatever is well-formed, so one check lists
  // every problem of the file rather than one stage's at a time.
  const unresolved = new Set<string>();
  const raw = interpolate(doc.toJS() as unknown, [], env, (path, message) => {
    unresolved.add(path.join('.'));
    problems.push({ ...positionOf(path), message });
  });
  const parsed = fileSchema.safeParse(raw);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const path = issue.path.filter((part): part is string | number => typeof part !== 'symbol');
      if (issue.code === 'unrecognized_keys') {
        for (const key of issue.keys) {
          const keyNode = keyNodeOf(doc, path, key);
          problems.push({
            ...(keyNode?.range === undefined || keyNode.range === null ? positionOf(path) : at(keyNode.range[0])),
            message: `unknown field "${[...path, key].join('.')}"`,
          });
        }
        continue;
      }
      const where = path.length === 0 ? 'the file' : path.join('.');
      problems.push({ ...positionOf(path), message: `${where}: ${issue.message}` });
    }
  }
  const rawFile = isRecord(raw) ? raw : {};
  const rawEndpoints = Array.isArray(rawFile.endpoints) ? (rawFile.endpoints as unknown[]) : [];
  const engine = rawEndpoints.some((item) => isRecord(item) && item.traffic_policy !== undefined)
    ? await loadPolicyEngine()
    : undefined;
  const endpoints: AgentEndpointDeclaration[] = [];
  const names = new Set<string>();
  const urls = new Set<string>();
  /** The engine's own validation of an endpoint's traffic_policy (text or inline mapping); answers its text. */
  const checkPolicy = (policy: string | Record<string, unknown>, url: string, base: Path): string => {
    const policyText = typeof policy === 'string' ? policy : stringify(policy);
    const address = parseEndpointUrl(url);
    // A public agent URL accepts connections itself (on_tcp_connect runs there); a `.internal` one does not.
    const options = address.ok
      ? policyOptionsFor('agent', address.value.url)
      : { endpointType: policyEndpointType('agent') };
    // Only called for an endpoint with a traffic_policy, and then the engine was loaded above.
    for (const issue of engine!.validatePolicy(policyText, options).errors) {
      problems.push({
        ...policyIssuePosition(doc, [...base, 'traffic_policy'], issue, positionOf, at),
        message: `traffic_policy: ${issue.code}: ${issue.message}`,
      });
    }
    return policyText;
  };
  // Fields the schema or the interpolation already reported: the checks below would only say it again.
  const reported = new Set(unresolved);
  if (!parsed.success) for (const issue of parsed.error.issues) reported.add(issue.path.map(String).join('.'));
  const fresh = (path: Path): boolean => !reported.has(path.join('.'));
  /** An endpoint's URL, its problem reported unless its field already was. */
  const checkUrl = (url: string, base: Path) => {
    const address = parseEndpointUrl(url);
    if (!address.ok && fresh([...base, 'url']))
      problems.push({ ...positionOf([...base, 'url']), message: `url: ${address.problem}` });
    return address;
  };
  /** An endpoint's upstream origin, its problem reported unless its field already was. */
  const checkUpstream = (value: number | string, base: Path): string | undefined => {
    const upstream = upstreamOrigin(value);
    if (typeof upstream === 'string') return upstream;
    if (fresh([...base, 'upstream', 'url']))
      problems.push({ ...positionOf([...base, 'upstream', 'url']), message: `upstream.url: ${upstream.problem}` });
    return undefined;
  };
  rawEndpoints.forEach((item, index) => {
    const base = ['endpoints', index] as const;
    const well = endpointSchema.safeParse(item);
    if (!well.success) {
      // Reported above. Its URL, upstream and policy are still checked, so fixing one field does not reveal another
      // problem a run later.
      if (!isRecord(item)) return;
      if (typeof item.url === 'string') checkUrl(item.url, base);
      const upstreamUrl = isRecord(item.upstream) ? item.upstream.url : undefined;
      if (typeof upstreamUrl === 'string' || typeof upstreamUrl === 'number') checkUpstream(upstreamUrl, base);
      const policy = item.traffic_policy;
      if (typeof policy === 'string' || isRecord(policy))
        checkPolicy(policy, typeof item.url === 'string' ? item.url : '', base);
      return;
    }
    const endpoint = well.data;
    if (names.has(endpoint.name))
      problems.push({ ...positionOf([...base, 'name']), message: `endpoint name "${endpoint.name}" is used twice` });
    names.add(endpoint.name);
    const address = checkUrl(endpoint.url, base);
    if (address.ok) {
      if (urls.has(address.value.url))
        problems.push({
          ...positionOf([...base, 'url']),
          message: `url ${address.value.url} is declared twice (one endpoint per URL; pooling_enabled lets several agents share it)`,
        });
      else urls.add(address.value.url);
    }
    const upstream = checkUpstream(endpoint.upstream.url, base);
    const policyText =
      endpoint.traffic_policy === undefined ? null : checkPolicy(endpoint.traffic_policy, endpoint.url, base);
    if (!address.ok || upstream === undefined) return;
    endpoints.push(
      AgentEndpointDeclarationSchema.parse({
        name: endpoint.name,
        url: address.value.url,
        upstream,
        upstream_protocol: endpoint.upstream.protocol,
        description: endpoint.description,
        metadata: endpoint.metadata,
        pooling_enabled: endpoint.pooling_enabled,
        traffic_policy: policyText,
      }),
    );
  });
  const rawAgent = isRecord(rawFile.agent) ? rawFile.agent : {};
  const connectUrl = typeof rawAgent.connect_url === 'string' ? rawAgent.connect_url : defaultConnectUrl;
  const connectUrlValid = /^https?:\/\/[^/]+\/?$/i.test(connectUrl) && URL.canParse(connectUrl);
  if (!connectUrlValid && !unresolved.has('agent.connect_url'))
    problems.push({
      ...positionOf(['agent', 'connect_url']),
      message: `agent.connect_url "${connectUrl}" must be an http:// or https:// origin (a data plane's traffic address)`,
    });
  if (!parsed.success || problems.length > 0) return { ok: false, problems: sortProblems(problems) };
  return {
    ok: true,
    config: { authtoken: parsed.data.agent?.authtoken, connectUrl: new URL(connectUrl).origin, endpoints },
  };
}

/** `3333` → http://127.0.0.1:3333; `host:port` → http://host:port; an http(s) origin stays as it is. */
export function upstreamOrigin(value: number | string): string | { problem: string } {
  if (typeof value === 'number') return `http://127.0.0.1:${value}`;
  const text = value.trim();
  if (/^\d+$/.test(text)) {
    const port = Number(text);
    return port >= 1 && port <= 65_535 ? `http://127.0.0.1:${port}` : { problem: `port ${text} is out of range` };
  }
  const candidate = /^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `http://${text}`;
  let url: URL;
  try {
    url = new URL(candidate);
  } catch {
    return { problem: `"${text}" is not a port, host:port or http(s) origin` };
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    return { problem: `"${text}" uses ${url.protocol}; the agent forwards to http:// or https:// upstreams` };
  if (url.pathname !== '/' || url.search !== '' || url.username !== '' || url.password !== '')
    return { problem: `"${text}" must be an origin (scheme, host, port), without path, query or credentials` };
  return url.origin;
}

/** Replaces `${NAME}` in every string value; an unset variable is an error at its node, not an empty string. */
function interpolate(
  value: unknown,
  path: (string | number)[],
  env: Readonly<Record<string, string | undefined>>,
  report: (path: Path, message: string) => void,
): unknown {
  if (typeof value === 'string') {
    return value.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (match, name: string) => {
      const resolved = env[name];
      if (resolved === undefined || resolved === '') {
        report(path, `${path.join('.')}: environment variable ${name} is not set`);
        // Left as written, so the later checks do not report this value a second time (as empty, say).
        return match;
      }
      return resolved;
    });
  }
  if (Array.isArray(value)) return value.map((item, index) => interpolate(item, [...path, index], env, report));
  // A traffic policy is the engine's text: its own `${…}` (CEL interpolation) must reach it unchanged.
  if (value !== null && typeof value === 'object' && path.at(-1) !== 'traffic_policy') {
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [key, interpolate(item, [...path, key], env, report)]),
    );
  }
  return value;
}

function nodeOf(doc: Document, path: Path): Node | undefined {
  if (path.length === 0) return doc.contents ?? undefined;
  const node: unknown = doc.getIn(path, true);
  return node !== null && typeof node === 'object' && 'range' in node ? (node as Node) : undefined;
}

function keyNodeOf(doc: Document, path: Path, key: string): Node | undefined {
  const parent = nodeOf(doc, path);
  if (!isMap(parent)) return undefined;
  for (const pair of parent.items) if (isScalar(pair.key) && pair.key.value === key) return pair.key;
  return undefined;
}

/**
 * Where a policy issue is in the config file. A block string's lines follow the node's own line; an inline mapping
 * was re-serialized for the engine, so its issue is placed by the issue's document path (`/on_http_request/0/…`) on
 * the config's own node, or the nearest one that exists.
 */
function policyIssuePosition(
  doc: Document,
  policyPath: Path,
  issue: { line: number; column: number; path: string },
  positionOf: (path: Path) => { line: number; column: number },
  at: (offset: number) => { line: number; column: number },
): { line: number; column: number } {
  const node = nodeOf(doc, policyPath);
  if (isScalar(node) && (node.type === 'BLOCK_LITERAL' || node.type === 'BLOCK_FOLDED') && node.range) {
    const start = at(node.range[0]);
    return { line: start.line + issue.line, column: issue.column + start.column + 1 };
  }
  if (isScalar(node)) return positionOf(policyPath);
  const within = issue.path
    .split('/')
    .filter((segment) => segment !== '')
    .map((segment) => (/^\d+$/.test(segment) ? Number(segment) : segment.replaceAll('~1', '/').replaceAll('~0', '~')));
  return positionOf([...policyPath, ...within]);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function sortProblems(problems: ConfigProblem[]): ConfigProblem[] {
  return [...problems].sort((a, b) => a.line - b.line || a.column - b.column);
}

function firstLine(message: string): string {
  return message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
}
