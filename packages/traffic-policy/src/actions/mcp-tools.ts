import { z } from 'zod';
import { defineAction, type ActionCompileContext } from '../action.js';
import type { CompiledItemExpression, McpItemVariable } from '../cel-environment.js';
import {
  celValueOf,
  continueOutcome,
  type McpCapability,
  type McpListFilter,
  type McpListName,
  type Outcome,
  type PolicyContext,
} from '../context.js';
import { errorCodeHeader } from '../errors.js';
import { jsonRpcErrorBody, jsonRpcErrorCodes } from '../mcp.js';
import { jsonRpcErrorOutcome } from './shared.js';

const nameList = (description: string) => z.array(z.string().min(1).max(2_048)).max(1_000).describe(description);

const sectionSchema = (variable: McpItemVariable, key: string) =>
  z
    .strictObject({
      allow: nameList(`Only these ${key}s stay visible and callable (exact match).`).optional(),
      deny: nameList(`These ${key}s are hidden and refused (case and surrounding spaces ignored).`).optional(),
      expression: z
        .string()
        .min(1)
        .max(4_096)
        .optional()
        .describe(
          `A CEL predicate over \`${variable}\` (the list entry: ${key}, annotations, …); false or an error hides it.`,
        ),
    })
    .describe(`Which ${variable}s are visible; every condition given must hold.`);

const configSchema = z
  .strictObject({
    tools: sectionSchema('tool', 'name').optional(),
    prompts: sectionSchema('prompt', 'name').optional(),
    resources: sectionSchema('resource', 'uri').optional(),
  })
  .refine((config) => config.tools !== undefined || config.prompts !== undefined || config.resources !== undefined, {
    message: 'give at least one of tools, prompts, resources',
  })
  .describe('mcp-tools config: a section per kind of MCP capability; kinds without a section stay unfiltered.');

type Section = z.infer<ReturnType<typeof sectionSchema>>;

/** What a section compiles to. */
interface Visibility {
  readonly variable: McpItemVariable;
  readonly allow: ReadonlySet<string> | undefined;
  readonly deny: ReadonlySet<string>;
  readonly expression: CompiledItemExpression | undefined;
}

type SectionName = McpCapability;

/** Which section decides about each list a result can carry. */
const sectionOfList: Readonly<Record<McpListName, SectionName>> = {
  tools: 'tools',
  prompts: 'prompts',
  resources: 'resources',
  resourceTemplates: 'resources',
};

/**
 * What the MCP spec tells clients to assume of a tool whose annotations leave a hint out. A predicate sees these for
 * every hint the upstream did not give, and for a tool nobody listed yet: an unknown tool is a destructive one.
 */
const toolAnnotationDefaults = Object.freeze({
  readOnlyHint: false,
  destructiveHint: true,
  idempotentHint: false,
  openWorldHint: true,
});

/** Entries the upstream listed, per endpoint, so a call is judged by the same annotations its list entry had. */
const maxRememberedItems = 10_000;

export const mcpToolsAction = defineAction({
  type: 'mcp-tools',
  description:
    'Filters which MCP tools, prompts and resources a client sees and may call: hidden ones leave list results and their calls get a JSON-RPC error.',
  phases: ['on_http_request'],
  configSchema,
  configRequired: true,
  alwaysTerminates: () => false,
  compile(config, context) {
    const sections: Partial<Record<SectionName, Visibility>> = {};
    if (config.tools !== undefined) sections.tools = compileSection(config.tools, 'tool', 'tools', context);
    if (config.prompts !== undefined) sections.prompts = compileSection(config.prompts, 'prompt', 'prompts', context);
    if (config.resources !== undefined)
      sections.resources = compileSection(config.resources, 'resource', 'resources', context);
    const remembered = new Map<string, Record<string, unknown>>();

    const visible = (endpointId: string, list: McpListName, item: Record<string, unknown>): boolean => {
      const section = sections[sectionOfList[list]];
      if (section === undefined) return true;
      const key = list === 'resources' ? item.uri : list === 'resourceTemplates' ? item.uriTemplate : item.name;
      if (typeof key !== 'string') return false;
      if (list !== 'resourceTemplates')
        remember(remembered, `${endpointId}\u0000${sectionOfList[list]}\u0000${key}`, item);
      return isVisible(section, key, item);
    };

    return (request) => {
      const endpointId = request.endpoint.id;
      // Every response through this action is filtered, not only tools/list's: an SSE stream resumed with
      // Last-Event-ID (a GET) can replay a list result too.
      const filter: McpListFilter = { visible: (list, item) => visible(endpointId, list, item) };
      (request.directives.mcpListFilters ??= []).push(filter);
      const mcp = request.mcp;
      if (mcp === undefined || (mcp.kind !== 'request' && mcp.kind !== 'notification'))
        return { outcome: continueOutcome };
      // Any message that names a tool, prompt or resource — completion/complete's ref included — is judged by it.
      const sectionName = mcp.names;
      const section = sectionName === undefined ? undefined : sections[sectionName];
      if (section === undefined) return { outcome: continueOutcome };
      // The call is judged by the list entry the upstream gave (annotations included), or by its name alone.
      const listed = remembered.get(`${endpointId}\u0000${sectionName}\u0000${mcp.tool}`);
      const item = listed ?? (sectionName === 'resources' ? { uri: mcp.tool } : { name: mcp.tool });
      if (mcp.tool !== '' && isVisible(section, mcp.tool, item))
        return { outcome: continueOutcome, detail: `${section.variable} ${mcp.tool} allowed` };
      return {
        outcome: notAllowed(request, section.variable, mcp.tool),
        detail: `${section.variable} ${mcp.tool} not allowed`,
      };
    };
  },
});

function compileSection(
  section: Section,
  variable: McpItemVariable,
  field: SectionName,
  context: ActionCompileContext,
): Visibility {
  return {
    variable,
    allow: section.allow === undefined ? undefined : new Set(section.allow),
    deny: new Set((section.deny ?? []).map(normalizeName)),
    expression:
      section.expression === undefined
        ? undefined
        : context.itemExpression(section.expression, [field, 'expression'], variable),
  };
}

function isVisible(section: Visibility, key: string, item: Record<string, unknown>): boolean {
  if (section.deny.has(normalizeName(key))) return false;
  if (section.allow !== undefined && !section.allow.has(key)) return false;
  if (section.expression === undefined) return true;
  const annotations = item.annotations;
  const judged =
    section.variable === 'tool'
      ? {
          ...item,
          annotations: {
            ...toolAnnotationDefaults,
            ...(annotations !== null && typeof annotations === 'object' ? annotations : {}),
          },
        }
      : item;
  try {
    return section.expression.evaluate(celValueOf(judged)) === true;
  } catch {
    // An entry the predicate cannot judge is hidden.
    return false;
  }
}

/** Deny lists also catch `Danger` and ` danger `: a lenient upstream might resolve them to `danger`. */
function normalizeName(name: string): string {
  return name.trim().toLowerCase();
}

function remember(remembered: Map<string, Record<string, unknown>>, key: string, item: Record<string, unknown>): void {
  if (!remembered.has(key) && remembered.size >= maxRememberedItems) {
    const oldest = remembered.keys().next().value;
    if (oldest !== undefined) remembered.delete(oldest);
  }
  remembered.set(key, item);
}

/** A JSON-RPC error the model can read; a notification (no id to answer) gets a 403 carrying the same error. */
function notAllowed(request: PolicyContext, variable: McpItemVariable, name: string): Outcome {
  const message = `${variable} not allowed: ${name === '' ? '(none named)' : name}`;
  const answer = jsonRpcErrorOutcome(request, jsonRpcErrorCodes.notAllowed, message, new Map(), 'MCP_NOT_ALLOWED');
  if (answer !== undefined) return answer;
  return {
    kind: 'respond',
    response: {
      status: 403,
      headers: new Map([
        ['content-type', ['application/json']],
        [errorCodeHeader, ['MCP_NOT_ALLOWED']],
      ]),
      body: jsonRpcErrorBody(null, jsonRpcErrorCodes.notAllowed, message),
    },
    errorCode: 'MCP_NOT_ALLOWED',
  };
}
