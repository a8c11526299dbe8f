import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, type OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import { API_KEY_SECURITY, DATAPLANE_SECURITY, SESSION_SECURITY } from '../auth/auth.decorators';
import { SESSION_COOKIE } from '../auth/session-cookie';
import { policyJsonSchema } from '../traffic-policy/policy-engine';

export const POLICY_DOCUMENT_COMPONENT = 'TrafficPolicyDocument';

/** Moves the engine's JSON Schema `$defs` into components so `$ref`s resolve inside the OpenAPI document. */
function policyDocumentComponents(): Record<string, unknown> {
  const {
    $schema: _schema,
    $id: _id,
    $defs,
    ...root
  } = policyJsonSchema as Record<string, unknown> & {
    $defs?: Record<string, unknown>;
  };
  const rewrite = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(rewrite);
    if (!value || typeof value !== 'object') return value;
    return Object.fromEntries(
      Object.entries(value).map(([key, child]) =>
        key === '$ref' && typeof child === 'string'
          ? [
              key,
              child
                .replace(/^#\/\$defs\//, `#/components/schemas/${POLICY_DOCUMENT_COMPONENT}.`)
                .replace(/^#$/, `#/components/schemas/${POLICY_DOCUMENT_COMPONENT}`),
            ]
          : [key, rewrite(child)],
      ),
    );
  };
  const components: Record<string, unknown> = { [POLICY_DOCUMENT_COMPONENT]: rewrite(root) };
  for (const [name, definition] of Object.entries($defs ?? {})) {
    components[`${POLICY_DOCUMENT_COMPONENT}.${name}`] = rewrite(definition);
  }
  return components;
}

/** The OpenAPI document of every route (committed as apps/api/openapi.json; a test fails when it is stale). */
export function buildOpenApiDocument(app: INestApplication): OpenAPIObject {
  const config = new DocumentBuilder()
    .setTitle('Gatehouse control plane API')
    .setDescription(
      'Endpoints, versioned Traffic Policies, IP categories, users, API keys and data-plane sync. JSON is snake_case; ' +
        'errors are `{error_code, message, details}`. Authenticate with the session cookie (dashboard) or ' +
        '`Authorization: Bearer <api key>`; data planes use the data-plane token.',
    )
    .setVersion('1')
    .addCookieAuth(SESSION_COOKIE, { type: 'apiKey', in: 'cookie', name: SESSION_COOKIE }, SESSION_SECURITY)
    .addBearerAuth({ type: 'http', scheme: 'bearer', description: 'An API key (gh_…)' }, API_KEY_SECURITY)
    .addBearerAuth({ type: 'http', scheme: 'bearer', description: 'GATEHOUSE_DATAPLANE_TOKEN' }, DATAPLANE_SECURITY)
    .build();
  // operationId = the handler name (createEndpoint, listPolicyVersions, …): stable names for generated API clients.
  const document = SwaggerModule.createDocument(app, config, {
    operationIdFactory: (_controllerKey: string, methodKey: string) => methodKey,
  });
  document.components = document.components ?? {};
  document.components.schemas = { ...document.components.schemas, ...policyDocumentComponents() } as NonNullable<
    OpenAPIObject['components']
  >['schemas'];
  return document;
}
