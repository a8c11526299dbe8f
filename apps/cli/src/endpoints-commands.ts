// endpoints list | get | create | delete
import { allEndpointTypes, type EndpointType, endpointTypes, isInternalHost } from '@gatehouse/contracts';
import { CliError, ExitCode, UsageError } from './cli-errors.js';
import type { CommandContext, CommandSpec } from './command.js';
import { type CreateEndpointBody, type Endpoint, resolveEndpoint, upstreamHostHeaders } from './gatehouse-api.js';
import { assertPolicyValid, printPolicyWarnings, readPolicySource } from './policy-check.js';
import { printJson, printLines, renderTable } from './output.js';
import { confirm, stdinIsTerminal } from './prompt.js';

/**
 * Internal endpoints are exactly those whose host ends in `.internal` (DESIGN.md §4), so the type can be inferred. A
 * URL the API will refuse still gets a type here: the API's answer then says what is wrong with it.
 */
export function inferEndpointType(url: string): EndpointType {
  try {
    return isInternalHost(new URL(url.trim()).hostname.replace(/\.$/, '')) ? 'internal' : 'cloud';
  } catch {
    return 'cloud';
  }
}

function parseType(context: CommandContext): EndpointType | undefined {
  const text = context.string('type');
  if (text === undefined) return undefined;
  const type = endpointTypes.find((candidate) => candidate === text);
  if (type === undefined) throw new UsageError(`--type must be cloud or internal, not "${text}"`, context.command.name);
  return type;
}

export function describeEndpoint(endpoint: Endpoint): string[] {
  const lines = [
    `id:          ${endpoint.id}`,
    `url:         ${endpoint.url}`,
    `type:        ${endpoint.type}`,
    `description: ${endpoint.description}`,
  ];
  if (endpoint.metadata !== '') lines.push(`metadata:    ${endpoint.metadata}`);
  if (endpoint.type === 'internal') {
    lines.push(`upstream:    ${endpoint.upstream_url ?? '(none)'} (host header: ${endpoint.upstream_host_header})`);
  } else {
    // Only cloud endpoints can capture, so on internal ones the line would always say off.
    const { headers, bodies } = endpoint.request_log_capture;
    lines.push(`log capture: headers ${headers ? 'on' : 'off'}, bodies ${bodies ? 'on' : 'off'}`);
  }
  lines.push(
    `policy:      ${endpoint.policy_version === null ? '(none)' : `version ${endpoint.policy_version}`}`,
    `created:     ${endpoint.created_at}`,
    `updated:     ${endpoint.updated_at}`,
  );
  return lines;
}

/** `list --type` also takes `agent`: agent endpoints are listed, never created, by people. */
function parseListType(context: CommandContext): Endpoint['type'] | undefined {
  const text = context.string('type');
  if (text === undefined) return undefined;
  const type = allEndpointTypes.find((candidate) => candidate === text);
  if (type === undefined) {
    throw new UsageError(`--type must be cloud, internal or agent, not "${text}"`, context.command.name);
  }
  return type;
}

async function runList(context: CommandContext): Promise<number> {
  const type = parseListType(context);
  const client = await context.client();
  const endpoints = await client.listEndpoints(type === undefined ? {} : { type });
  if (context.json) {
    printJson(context.io, { endpoints });
    return ExitCode.OK;
  }
  if (endpoints.length === 0) {
    context.io.stdout('No endpoints.\n');
    return ExitCode.OK;
  }
  printLines(
    context.io.stdout,
    renderTable(
      ['ID', 'URL', 'TYPE', 'POLICY', 'UPSTREAM', 'DESCRIPTION'],
      endpoints.map((endpoint) => [
        endpoint.id,
        endpoint.url,
        endpoint.type,
        endpoint.policy_version === null ? '-' : `v${endpoint.policy_version}`,
        endpoint.upstream_url ?? '-',
        endpoint.description,
      ]),
    ),
  );
  return ExitCode.OK;
}

async function runGet(context: CommandContext): Promise<number> {
  const client = await context.client();
  const endpoint = await resolveEndpoint(client, context.positional(0) ?? '');
  if (context.json) {
    printJson(context.io, endpoint);
    return ExitCode.OK;
  }
  const lines = describeEndpoint(endpoint);
  if (endpoint.traffic_policy !== null) {
    lines.push(
      '',
      `--- active policy (version ${endpoint.policy_version ?? '?'}) ---`,
      endpoint.traffic_policy.trimEnd(),
    );
  }
  printLines(context.io.stdout, lines);
  return ExitCode.OK;
}

async function runCreate(context: CommandContext): Promise<number> {
  const url = context.requireString('url');
  const type = parseType(context) ?? inferEndpointType(url);
  const upstream = context.string('upstream');
  const hostHeaderText = context.string('upstream-host-header');
  const policyFile = context.string('policy-file');
  if (type === 'internal' && upstream === undefined) {
    throw new UsageError(
      'an internal endpoint needs --upstream (the private http(s) URL it fronts)',
      'endpoints create',
    );
  }
  if (type === 'cloud' && upstream !== undefined) {
    throw new UsageError(
      'only internal endpoints (host ending in .internal) have an upstream; a cloud endpoint forwards with a forward-internal action in its policy',
      'endpoints create',
    );
  }
  if (type === 'cloud' && policyFile === undefined) {
    throw new UsageError(
      'a cloud endpoint needs --policy-file (its policy must end in a terminating action)',
      'endpoints create',
    );
  }
  const hostHeader = upstreamHostHeaders.find((candidate) => candidate === hostHeaderText);
  if (hostHeaderText !== undefined && hostHeader === undefined) {
    throw new UsageError('--upstream-host-header must be preserve or rewrite', 'endpoints create');
  }
  const captureHeaders = context.flag('capture-headers');
  const captureBodies = context.flag('capture-bodies');
  if (type === 'internal' && (captureHeaders || captureBodies)) {
    throw new UsageError(
      'request-log capture is a cloud endpoint setting (it follows the endpoint the Host matched); drop --capture-*',
      'endpoints create',
    );
  }
  const policy = policyFile === undefined ? undefined : await readPolicySource(context.io, policyFile);
  if (policy !== undefined) assertPolicyValid(policy, type);

  const body: CreateEndpointBody = {
    url,
    type,
    ...(context.string('description') === undefined ? {} : { description: context.string('description') }),
    ...(context.string('metadata') === undefined ? {} : { metadata: context.string('metadata') }),
    ...(upstream === undefined ? {} : { upstream_url: upstream }),
    ...(hostHeader === undefined ? {} : { upstream_host_header: hostHeader }),
    ...(policy === undefined ? {} : { traffic_policy: policy.text, policy_message: context.string('message') ?? '' }),
    ...(captureHeaders || captureBodies
      ? { request_log_capture: { headers: captureHeaders, bodies: captureBodies } }
      : {}),
  };
  const client = await context.client();
  const endpoint = await client.createEndpoint(body);
  if (policy !== undefined) printPolicyWarnings(context.io, policy.name, endpoint.policy_warnings);
  if (context.json) {
    printJson(context.io, endpoint);
  } else {
    const version = endpoint.policy_version === null ? 'no policy' : `policy version ${endpoint.policy_version}`;
    context.io.stdout(`Created ${endpoint.type} endpoint ${endpoint.url} (${endpoint.id}, ${version})\n`);
  }
  return ExitCode.OK;
}

async function runDelete(context: CommandContext): Promise<number> {
  const yes = context.flag('yes');
  if (!yes && !stdinIsTerminal(context.io)) {
    throw new UsageError(
      'refusing to delete without confirmation: stdin is not a terminal; pass --yes',
      'endpoints delete',
    );
  }
  const client = await context.client();
  const endpoint = await resolveEndpoint(client, context.positional(0) ?? '');
  if (!yes) {
    const confirmed = await confirm(
      context.io,
      `Delete ${endpoint.type} endpoint ${endpoint.url} (${endpoint.id}) and all its policy versions?`,
    );
    if (!confirmed) throw new CliError('cancelled; nothing was deleted');
  }
  await client.deleteEndpoint(endpoint.id);
  if (context.json) printJson(context.io, { deleted: true, id: endpoint.id, url: endpoint.url });
  else context.io.stdout(`Deleted endpoint ${endpoint.url} (${endpoint.id})\n`);
  return ExitCode.OK;
}

const endpointArgument = {
  name: 'endpoint',
  required: true,
  description: 'endpoint id (ep_…), URL (https://mcp.example.com) or host (tried as https:// then http://)',
};

export const endpointsCommands: CommandSpec[] = [
  {
    name: 'endpoints list',
    summary: 'list every endpoint (all pages)',
    usage: 'gatehouse endpoints list [--type cloud|internal|agent] [--json]',
    options: { type: { type: 'string', value: 'TYPE', description: 'only cloud, internal or agent endpoints' } },
    positionals: [],
    examples: [
      'gatehouse endpoints list',
      'gatehouse endpoints list --type internal --json | jq -r ".endpoints[].url"',
    ],
    run: runList,
  },
  {
    name: 'endpoints get',
    summary: 'show an endpoint with its active policy',
    usage: 'gatehouse endpoints get <endpoint> [--json]',
    options: {},
    positionals: [endpointArgument],
    examples: [
      'gatehouse endpoints get https://mcp.example.com',
      'gatehouse endpoints get ep_01jq8x3m6r2v9c4k7t5w0y1z3b --json',
    ],
    run: runGet,
  },
  {
    name: 'endpoints create',
    summary: 'create an endpoint (with its first policy version)',
    usage: 'gatehouse endpoints create --url URL [--upstream URL] [--policy-file FILE] [options]',
    description:
      'The type follows the host: hosts ending in .internal are internal endpoints, which need --upstream (the\n' +
      'private server they front) and may have a policy; all others are cloud endpoints, which need a policy that\n' +
      'terminates (e.g. ends in forward-internal or deny). The policy is validated locally first.',
    options: {
      url: { type: 'string', value: 'URL', description: 'http(s)://host[:port], e.g. https://mcp.example.com' },
      type: { type: 'string', value: 'TYPE', description: 'cloud or internal (default: inferred from the host)' },
      upstream: {
        type: 'string',
        value: 'URL',
        description: 'internal endpoints: the upstream, e.g. http://127.0.0.1:3333',
      },
      'upstream-host-header': { type: 'string', value: 'MODE', description: 'preserve (default) or rewrite' },
      'policy-file': { type: 'string', value: 'FILE', description: 'Traffic Policy YAML/JSON (- for stdin)' },
      message: { type: 'string', short: 'm', value: 'TEXT', description: 'message of the first policy version' },
      description: { type: 'string', value: 'TEXT', description: 'description (≤ 255 characters)' },
      metadata: { type: 'string', value: 'TEXT', description: 'free text for automation (≤ 4096 characters)' },
      'capture-headers': {
        type: 'boolean',
        description: 'cloud endpoints: store header values in the request log (secrets always removed)',
      },
      'capture-bodies': {
        type: 'boolean',
        description: 'cloud endpoints: store the first 8 KiB of each body in the request log',
      },
    },
    positionals: [],
    examples: [
      'gatehouse endpoints create --url https://mcp.example.internal --upstream http://127.0.0.1:3333',
      'gatehouse endpoints create --url https://mcp.example.com --policy-file policy.yaml -m "first version"',
    ],
    run: runCreate,
  },
  {
    name: 'endpoints delete',
    summary: 'delete an endpoint and all its policy versions',
    usage: 'gatehouse endpoints delete <endpoint> [--yes]',
    description: 'Asks for confirmation on a terminal; without one (scripts, CI) --yes is required.',
    options: { yes: { type: 'boolean', short: 'y', description: 'do not ask for confirmation' } },
    positionals: [endpointArgument],
    examples: [
      'gatehouse endpoints delete https://old.example.com',
      'gatehouse endpoints delete ep_01jq8x3m6r2v9c4k7t5w0y1z3b --yes',
    ],
    run: runDelete,
  },
];

export { endpointArgument };
