import { z } from 'zod';
import type { AnyAction } from './action.js';
import { actionDefinitions } from './actions/registry.js';
import {
  maxActionsPerRule,
  maxExpressionLength,
  maxExpressionsPerRule,
  maxRuleNameLength,
  maxRulesPerPhase,
} from './limits.js';

/**
 * The zod schema of a whole policy document, composed from each action's own config schema. The validator walks the
 * same pieces (so it can report every issue with its position); this composition feeds TypeScript types, the JSON
 * Schema that Monaco uses and the OpenAPI description of policy bodies.
 */

export const phaseKeys = ['on_tcp_connect', 'on_http_request', 'on_http_response', 'on_event_stream_message'] as const;
export const legacyPhaseKeys = { inbound: 'on_http_request', outbound: 'on_http_response' } as const;

function actionSchemaOf(definition: AnyAction) {
  const config = definition.configRequired ? definition.configSchema : definition.configSchema.optional();
  return z
    .strictObject({
      type: z.literal(definition.type).describe(definition.description),
      config: config.describe(`Settings of ${definition.type}.`),
    })
    .describe(`${definition.type}: ${definition.description} Phases: ${definition.phases.join(', ')}.`)
    .meta({ id: `action.${definition.type}` });
}

const [firstAction, ...otherActions] = actionDefinitions;

export const actionSchema = z
  .discriminatedUnion('type', [actionSchemaOf(firstAction), ...otherActions.map(actionSchemaOf)])
  .describe('An action: its `type` and that type’s `config`.')
  .meta({ id: 'action' });

export const ruleSchema = z
  .strictObject({
    name: z.string().max(maxRuleNameLength).optional().describe('A label shown in request logs and decision traces.'),
    expressions: z
      .array(z.string().min(1).max(maxExpressionLength))
      .max(maxExpressionsPerRule)
      .optional()
      .describe('CEL expressions that must all be true for the rule to run (AND). None means always.'),
    actions: z
      .array(actionSchema)
      .min(1)
      .max(maxActionsPerRule)
      .describe('Actions run in order when the rule matches; a terminating action ends the phase.'),
  })
  .describe('A rule: when all expressions are true, its actions run in order.')
  .meta({ id: 'rule' });

const ruleListSchema = (description: string) => z.array(ruleSchema).max(maxRulesPerPhase).describe(description);

export const policyDocumentSchema = z
  .strictObject({
    on_tcp_connect: ruleListSchema(
      'Rules run once per TCP connection, before any HTTP is read (cloud endpoints only).',
    ).optional(),
    on_http_request: ruleListSchema('Rules run on each request before it is forwarded.').optional(),
    on_http_response: ruleListSchema('Rules run on each response before the client sees it.').optional(),
    on_event_stream_message: ruleListSchema(
      'Rules run on each server-sent event of a text/event-stream response as it streams (sse.* is the event).',
    ).optional(),
    inbound: ruleListSchema('Deprecated alias of on_http_request.').optional(),
    outbound: ruleListSchema('Deprecated alias of on_http_response.').optional(),
  })
  .describe('A Gatehouse Traffic Policy (compatible with ngrok Traffic Policy for HTTP endpoints).');

export type PolicyDocument = z.input<typeof policyDocumentSchema>;
export type PolicyRule = z.input<typeof ruleSchema>;

let documentJsonSchema: Record<string, unknown> | undefined;
let editorJsonSchema: Record<string, unknown> | undefined;

/**
 * JSON Schema (draft 2020-12) of a policy document, for Monaco (monaco-yaml) and OpenAPI. Built on first call, not at
 * import: converting the whole document schema costs tens of ms, which every data plane boot paid for a schema it
 * never reads. The same object is answered on every call.
 */
export function policyDocumentJsonSchema(): Record<string, unknown> {
  documentJsonSchema ??= {
    $id: 'https://gatehouse.dev/schemas/traffic-policy.json',
    title: 'Gatehouse Traffic Policy',
    ...z.toJSONSchema(policyDocumentSchema, { io: 'input', unrepresentable: 'any', target: 'draft-2020-12' }),
  };
  return documentJsonSchema;
}

/**
 * The schema the dashboard's editor (monaco-yaml) works from: the document schema with each action as one object
 * whose `type` is an enum of the actions Gatehouse runs, and its `config` chosen by `if`/`then` on the type. With the
 * plain `oneOf` of actions the language server shows, for a hover on `type`, the descriptions of whichever
 * alternatives matched best — unsupported ones with a free-form config among them — and offers unsupported types in
 * completion. Here the hover on `type` is one list of every supported action, and completion offers only those.
 */
export function policyEditorJsonSchema(): Record<string, unknown> {
  editorJsonSchema ??= editorSchemaOf(policyDocumentJsonSchema());
  return editorJsonSchema;
}

function editorSchemaOf(documentSchema: Record<string, unknown>): Record<string, unknown> {
  const definitions = { ...(documentSchema.$defs as Record<string, Record<string, unknown>>) };
  const supported = actionDefinitions.filter((definition) => definition.supported !== false);
  for (const definition of actionDefinitions) delete definitions[`action.${definition.type}`];
  const configOf = (type: string): unknown =>
    (documentSchema.$defs as Record<string, { properties: { config: unknown } }>)[`action.${type}`]?.properties.config;
  definitions.action = {
    type: 'object',
    description: 'An action: its `type` and that type’s `config`.',
    properties: {
      type: {
        type: 'string',
        enum: supported.map((definition) => definition.type),
        markdownDescription: [
          'The action to run. Supported actions:',
          '',
          ...supported.map((definition) => `- \`${definition.type}\` — ${definition.description}`),
        ].join('\n'),
        enumDescriptions: supported.map((definition) => definition.description),
      },
      config: { type: 'object', description: 'Settings of the action; which ones depends on `type`.' },
    },
    required: ['type'],
    additionalProperties: false,
    allOf: supported.map((definition) => ({
      if: { properties: { type: { const: definition.type } }, required: ['type'] },
      then: {
        properties: { config: configOf(definition.type) },
        ...(definition.configRequired ? { required: ['config'] } : {}),
      },
    })),
  };
  return { ...documentSchema, $defs: definitions };
}
