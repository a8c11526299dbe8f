// gatehouse.yaml — the declarative file of `apply` and `diff`: the endpoints (with their policies) and, optionally, the
// custom IP categories an install should have. Every problem is reported with its line, column and field path.
import { readFile } from 'node:fs/promises';
import { dirname, relative, resolve } from 'node:path';
import { type Document, isMap, isPair, isScalar, isSeq, LineCounter, type Node, parseDocument, stringify } from 'yaml';
import {
  type EndpointType,
  endpointTypes,
  parseEndpointUrl,
  parseUpstreamUrl,
  type PolicyTestCase,
  PolicyTestCasesSchema,
} from '@gatehouse/contracts';
import { parseCidr } from '@gatehouse/traffic-policy';
import { z } from 'zod';
import { CliError } from './cli-errors.js';
import { type RequestLogCapturePatch, type UpstreamHostHeader, upstreamHostHeaders } from './gatehouse-api.js';

export const DECLARATIVE_FORMAT_VERSION = 1;
const IP_CATEGORY_NAME = /^[a-z0-9](?:[a-z0-9._-]{0,126}[a-z0-9])?$/;

/** An IPv4/IPv6 CIDR or bare address, parsed by the engine exactly as the API and the data plane parse it. */
export function isCidrOrAddress(value: string): boolean {
  return parseCidr(value) !== undefined;
}

const IpCategoryEntrySchema = z.strictObject({
  name: z.string().regex(IP_CATEGORY_NAME, 'lower-case letters, digits, ".", "_" and "-", e.g. com.example.office'),
  cidrs: z
    .array(z.string().trim().refine(isCidrOrAddress, 'must be an IPv4 or IPv6 CIDR or address, e.g. 203.0.113.0/24'))
    .max(10_000),
  description: z.string().max(255).optional(),
});

const EndpointEntrySchema = z
  .strictObject({
    url: z.string().min(1).max(2048),
    type: z.enum(endpointTypes).optional(),
    description: z.string().max(255).optional(),
    metadata: z.string().max(4096).optional(),
    upstream_url: z.string().min(1).max(2048).optional(),
    upstream_host_header: z.enum(upstreamHostHeaders).optional(),
    // Each option on its own: one left out is not managed, like any other field the file omits.
    request_log_capture: z.strictObject({ headers: z.boolean().optional(), bodies: z.boolean().optional() }).optional(),
    policy: z
      .union([z.string(), z.record(z.string(), z.unknown())], {
        error: 'expected the policy as text (e.g. a `|` block) or as a YAML mapping',
      })
      .optional(),
    policy_file: z.string().min(1).optional(),
    // Policy test cases (issue 17): apply runs them before changing anything and stores them with the new version.
    tests: PolicyTestCasesSchema.optional(),
    tests_file: z.string().min(1).optional(),
  })
  .superRefine((entry, context) => {
    // The URL as the API spells and checks it: the type follows the host, and a stated type must agree with it.
    const address = parseEndpointUrl(entry.url);
    if (!address.ok) {
      context.addIssue({ code: 'custom', path: ['url'], message: address.problem });
      return;
    }
    const typed = entry.type === undefined ? address : parseEndpointUrl(entry.url, entry.type);
    if (!typed.ok) {
      context.addIssue({ code: 'custom', path: ['type'], message: typed.problem });
      // The remaining rules depend on the type; checking them against a contradictory one would only add noise.
      return;
    }
    const type = address.value.type;
    if (entry.policy !== undefined && entry.policy_file !== undefined) {
      context.addIssue({ code: 'custom', path: ['policy_file'], message: 'give policy or policy_file, not both' });
    }
    if (entry.tests !== undefined && entry.tests_file !== undefined) {
      context.addIssue({ code: 'custom', path: ['tests_file'], message: 'give tests or tests_file, not both' });
    }
    if (
      (entry.tests !== undefined || entry.tests_file !== undefined) &&
      entry.policy === undefined &&
      entry.policy_file === undefined
    ) {
      context.addIssue({
        code: 'custom',
        path: [entry.tests === undefined ? 'tests_file' : 'tests'],
        message: 'tests need the policy they test: add policy or policy_file',
      });
    }
    if (type === 'cloud') {
      if (entry.upstream_url !== undefined) {
        context.addIssue({
          code: 'custom',
          path: ['upstream_url'],
          message: 'only internal endpoints have an upstream; a cloud endpoint forwards with a forward-internal action',
        });
      }
      if (entry.upstream_host_header !== undefined) {
        context.addIssue({
          code: 'custom',
          path: ['upstream_host_header'],
          message: 'only internal endpoints have one',
        });
      }
      if (entry.policy === undefined && entry.policy_file === undefined) {
        context.addIssue({ code: 'custom', path: ['policy'], message: 'a cloud endpoint needs policy or policy_file' });
      }
    } else if (entry.upstream_url === undefined) {
      context.addIssue({
        code: 'custom',
        path: ['upstream_url'],
        message: 'required for internal endpoints (the private http(s) server they front)',
      });
    } else {
      const upstream = parseUpstreamUrl(entry.upstream_url);
      if (!upstream.ok) context.addIssue({ code: 'custom', path: ['upstream_url'], message: upstream.problem });
    }
    if (type === 'internal') {
      // The API refuses it (ENDPOINT_CAPTURE_UNSUPPORTED); caught here so apply stops before its first change.
      // `false` is accepted: it is the only value an internal endpoint has.
      for (const option of ['headers', 'bodies'] as const) {
        if (entry.request_log_capture?.[option] === true) {
          context.addIssue({
            code: 'custom',
            path: ['request_log_capture', option],
            message:
              'only cloud endpoints capture (requests are logged where they arrive); turn it on for the cloud endpoint that forwards here',
          });
        }
      }
    }
  });

/** The whole file. Unknown keys are errors, so a typo (`upstream:`) is reported instead of silently ignored. */
export const DeclarativeFileSchema = z
  .strictObject({
    version: z.literal(DECLARATIVE_FORMAT_VERSION, {
      error: (issue) =>
        issue.input === undefined
          ? `required: the format version (${DECLARATIVE_FORMAT_VERSION})`
          : `unsupported format version ${JSON.stringify(issue.input)}; this CLI reads version ${DECLARATIVE_FORMAT_VERSION}`,
    }),
    ip_categories: z.array(IpCategoryEntrySchema).optional(),
    endpoints: z.array(EndpointEntrySchema).default([]),
  })
  .superRefine((file, context) => {
    const urls = new Map<string, number>();
    file.endpoints.forEach((entry, index) => {
      const address = parseEndpointUrl(entry.url);
      if (!address.ok) return;
      const first = urls.get(address.value.url);
      if (first === undefined) urls.set(address.value.url, index);
      else {
        context.addIssue({
          code: 'custom',
          path: ['endpoints', index, 'url'],
          message: `${address.value.url} is already declared at endpoints[${first}]`,
        });
      }
    });
    const names = new Map<string, number>();
    (file.ip_categories ?? []).forEach((category, index) => {
      const first = names.get(category.name);
      if (first === undefined) names.set(category.name, index);
      else {
        context.addIssue({
          code: 'custom',
          path: ['ip_categories', index, 'name'],
          message: `${category.name} is already declared at ip_categories[${first}]`,
        });
      }
    });
  });
export type DeclarativeFile = z.output<typeof DeclarativeFileSchema>;

export interface PolicyIssuePosition {
  line: number;
  column: number;
  /** JSON pointer into the policy document, e.g. `/on_http_request/0/actions/1`. */
  path: string;
}

export interface DesiredPolicy {
  text: string;
  /** Where the text comes from, for plan output: `policies/mcp.yaml` or `gatehouse.yaml endpoints[1].policy`. */
  origin: string;
  /** `file:line:col` of an issue the engine found in `text`, in the file the user edits. */
  locate(issue: PolicyIssuePosition): string;
}

export interface DesiredEndpoint {
  /** `endpoints[2]`, for messages. */
  path: string;
  url: string;
  type: EndpointType;
  /** Fields left out of the file are not managed: apply leaves the server's value alone. */
  description?: string;
  metadata?: string;
  upstreamUrl?: string;
  upstreamHostHeader?: UpstreamHostHeader;
  /** Only the options the file sets; each one left out is not managed. */
  requestLogCapture?: RequestLogCapturePatch;
  policy?: DesiredPolicy;
  /** Test cases for `policy`; left out: the server keeps the ones it has. */
  tests?: { cases: PolicyTestCase[]; origin: string };
}

export interface DesiredIpCategory {
  path: string;
  name: string;
  cidrs: string[];
  description?: string;
}

export interface DesiredState {
  endpoints: DesiredEndpoint[];
  /** null when the file has no `ip_categories` key: categories are then not managed at all (prune skips them). */
  ipCategories: DesiredIpCategory[] | null;
}

/** `['endpoints', 1, 'url']` → `endpoints[1].url`. */
export function formatFieldPath(path: readonly PropertyKey[]): string {
  let text = '';
  for (const segment of path) {
    if (typeof segment === 'number') text += `[${segment}]`;
    else text += text === '' ? String(segment) : `.${String(segment)}`;
  }
  return text === '' ? '(root)' : text;
}

/** Finds line and column of the node at `path` (or of its nearest existing ancestor) in a parsed YAML document. */
export class SourceLocator {
  constructor(
    readonly fileName: string,
    readonly document: Document,
    private readonly lines: LineCounter,
  ) {}

  position(offset: number): string {
    const { line, col } = this.lines.linePos(offset);
    return `${this.fileName}:${line}:${col}`;
  }

  lineOf(offset: number): number {
    return this.lines.linePos(offset).line;
  }

  nodeAt(path: readonly PropertyKey[]): Node | undefined {
    for (let length = path.length; length >= 0; length--) {
      const node = this.document.getIn(path.slice(0, length), true);
      if (isMap(node) || isSeq(node) || isScalar(node)) return node;
    }
    return undefined;
  }

  /** The key node of `key` in the map at `path` (where an unknown key is reported). */
  keyNode(path: readonly PropertyKey[], key: string): Node | undefined {
    const map = this.document.getIn(path, true);
    if (!isMap(map)) return undefined;
    const pair = map.items.find((item) => isPair(item) && isScalar(item.key) && item.key.value === key);
    return pair !== undefined && isScalar(pair.key) ? pair.key : undefined;
  }

  locate(path: readonly PropertyKey[], key?: string): string {
    const node = (key === undefined ? undefined : this.keyNode(path, key)) ?? this.nodeAt(path);
    return this.position(node?.range?.[0] ?? 0);
  }
}

export function zodIssueLines(locator: SourceLocator, issues: readonly z.core.$ZodIssue[]): string[] {
  return issues.flatMap((issue) => {
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map(
        (key) => `${locator.locate(issue.path, key)} ${formatFieldPath([...issue.path, key])}: unknown key`,
      );
    }
    let message = issue.message;
    if (issue.code === 'invalid_type') {
      const present = locator.document.hasIn(issue.path as unknown[]);
      message = present ? `expected ${issue.expected}` : 'required';
    }
    return [`${locator.locate(issue.path)} ${formatFieldPath(issue.path)}: ${message}`];
  });
}

/** Block-literal policies (`policy: |`) map engine positions back into the file exactly; others point at the value. */
function inlinePolicyLocator(
  locator: SourceLocator,
  source: string,
  path: readonly PropertyKey[],
): DesiredPolicy['locate'] {
  const node = locator.nodeAt(path);
  if (isScalar(node) && node.type === 'BLOCK_LITERAL' && node.range) {
    // The value starts on the line after the `|` header, shifted right by the block's indentation.
    const headerLine = locator.lineOf(node.range[0]);
    const firstContent =
      source
        .split('\n')
        .slice(headerLine)
        .find((line) => line.trim() !== '') ?? '';
    const indent = firstContent.length - firstContent.trimStart().length;
    return (issue) => `${locator.fileName}:${headerLine + issue.line}:${indent + issue.column}`;
  }
  if (isMap(node)) {
    // A policy written as YAML under `policy:` is sent re-serialized; its nodes are found by the issue's path.
    return (issue) => {
      const segments = issue.path
        .split('/')
        .filter((segment) => segment !== '')
        .map((segment) =>
          /^\d+$/.test(segment) ? Number(segment) : segment.replaceAll('~1', '/').replaceAll('~0', '~'),
        );
      return locator.locate([...path, ...segments]);
    };
  }
  const start = locator.locate(path);
  return (issue) => `${start} (policy line ${issue.line}:${issue.column})`;
}

export interface LoadOptions {
  cwd: string;
}

/** Reads, parses and validates gatehouse.yaml and the policy files it names; throws CliError listing every problem. */
export async function loadDeclarativeFile(file: string, options: LoadOptions): Promise<DesiredState> {
  const absolute = resolve(options.cwd, file);
  let source: string;
  try {
    source = await readFile(absolute, 'utf8');
  } catch (error) {
    throw new CliError(`cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  return parseDeclarativeFile(source, file, {
    readPolicyFile: (name) => readFile(resolve(dirname(absolute), name), 'utf8'),
    displayPolicyFile: (name) => relative(options.cwd, resolve(dirname(absolute), name)) || name,
  });
}

export interface PolicyFileReader {
  readPolicyFile(name: string): Promise<string>;
  displayPolicyFile(name: string): string;
}

export async function parseDeclarativeFile(
  source: string,
  fileName: string,
  files: PolicyFileReader,
): Promise<DesiredState> {
  const lines = new LineCounter();
  const document = parseDocument(source, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const locator = new SourceLocator(fileName, document, lines);
  const invalid = (problems: string[]): CliError =>
    new CliError(
      `${fileName} is not a valid gatehouse file (${problems.length} problem${problems.length === 1 ? '' : 's'})`,
      1,
      problems,
    );
  if (document.errors.length > 0) {
    throw invalid(document.errors.map((error) => `${locator.position(error.pos[0])} YAML: ${error.message}`));
  }
  const raw: unknown = document.toJS();
  if (raw === null || raw === undefined) throw invalid([`${fileName}:1:1 (root): the file is empty`]);
  const parsed = DeclarativeFileSchema.safeParse(raw);
  if (!parsed.success) throw invalid(zodIssueLines(locator, parsed.error.issues));

  const problems: string[] = [];
  const endpoints: DesiredEndpoint[] = [];
  for (const [index, entry] of parsed.data.endpoints.entries()) {
    const address = parseEndpointUrl(entry.url);
    if (!address.ok) continue; // reported by the schema
    const path = ['endpoints', index] as const;
    let policy: DesiredPolicy | undefined;
    if (entry.policy_file !== undefined) {
      const display = files.displayPolicyFile(entry.policy_file);
      try {
        const text = await files.readPolicyFile(entry.policy_file);
        policy = { text, origin: display, locate: (issue) => `${display}:${issue.line}:${issue.column}` };
      } catch (error) {
        const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
        problems.push(
          `${locator.locate([...path, 'policy_file'])} ${formatFieldPath([...path, 'policy_file'])}: cannot read ${display} (${reason})`,
        );
      }
    } else if (entry.policy !== undefined) {
      const text = typeof entry.policy === 'string' ? entry.policy : stringify(entry.policy, { lineWidth: 0 });
      policy = {
        text,
        origin: `${fileName} ${formatFieldPath([...path, 'policy'])}`,
        locate: inlinePolicyLocator(locator, source, [...path, 'policy']),
      };
    }
    let tests: DesiredEndpoint['tests'];
    if (entry.tests_file !== undefined) {
      const display = files.displayPolicyFile(entry.tests_file);
      try {
        tests = { cases: parseTestsText(await files.readPolicyFile(entry.tests_file), display), origin: display };
      } catch (error) {
        if (error instanceof CliError) problems.push(...error.detailLines);
        else {
          const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
          problems.push(
            `${locator.locate([...path, 'tests_file'])} ${formatFieldPath([...path, 'tests_file'])}: cannot read ${display} (${reason})`,
          );
        }
      }
    } else if (entry.tests !== undefined) {
      tests = { cases: entry.tests, origin: `${fileName} ${formatFieldPath([...path, 'tests'])}` };
    }
    const upstream = entry.upstream_url === undefined ? undefined : parseUpstreamUrl(entry.upstream_url);
    endpoints.push({
      path: formatFieldPath(path),
      url: address.value.url,
      type: entry.type ?? address.value.type,
      ...(entry.description === undefined ? {} : { description: entry.description }),
      ...(entry.metadata === undefined ? {} : { metadata: entry.metadata }),
      ...(upstream?.ok === true ? { upstreamUrl: upstream.value } : {}),
      ...(entry.upstream_host_header === undefined ? {} : { upstreamHostHeader: entry.upstream_host_header }),
      ...(entry.request_log_capture === undefined ? {} : { requestLogCapture: entry.request_log_capture }),
      ...(policy === undefined ? {} : { policy }),
      ...(tests === undefined ? {} : { tests }),
    });
  }
  if (problems.length > 0) throw invalid(problems);
  const ipCategories =
    parsed.data.ip_categories?.map((category, index) => ({
      path: formatFieldPath(['ip_categories', index]),
      name: category.name,
      cidrs: [...new Set(category.cidrs)],
      ...(category.description === undefined ? {} : { description: category.description }),
    })) ?? null;
  return { endpoints, ipCategories };
}

/** A tests file is a YAML (or JSON) list of cases, or a mapping with the list under `tests`. */
const TestsMappingSchema = z.strictObject({ tests: PolicyTestCasesSchema });

export function parseTestsText(text: string, fileName: string): PolicyTestCase[] {
  const lines = new LineCounter();
  const document = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const locator = new SourceLocator(fileName, document, lines);
  const invalid = (problems: string[]) =>
    new CliError(
      `${fileName} is not a valid tests file (${problems.length} problem${problems.length === 1 ? '' : 's'})`,
      1,
      problems,
    );
  if (document.errors.length > 0)
    throw invalid(document.errors.map((error) => `${locator.position(error.pos[0])} YAML: ${error.message}`));
  const raw: unknown = document.toJS();
  if (raw !== null && typeof raw === 'object' && !Array.isArray(raw)) {
    const parsed = TestsMappingSchema.safeParse(raw);
    if (!parsed.success) throw invalid(zodIssueLines(locator, parsed.error.issues));
    return parsed.data.tests;
  }
  const parsed = PolicyTestCasesSchema.safeParse(raw);
  if (!parsed.success) throw invalid(zodIssueLines(locator, parsed.error.issues));
  return parsed.data;
}
