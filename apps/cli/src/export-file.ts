// The export file of `gatehouse export` / `gatehouse import`: endpoints with every policy version, and the custom IP
// categories. Versioned (`format_version`) and checked before import touches anything, so a truncated or hand-edited
// file is refused with the path of the bad field instead of half-imported.
import { createHash } from 'node:crypto';
import { endpointTypes, parseEndpointUrl } from '@gatehouse/contracts';
import { z } from 'zod';
import { CliError } from './cli-errors.js';
import { formatFieldPath } from './declarative-file.js';
import { upstreamHostHeaders } from './gatehouse-api.js';

export const EXPORT_FORMAT = 'gatehouse-export';
/**
 * Still 1 after `request_log_capture` was added, because neither direction can lose it silently: files written before
 * it lack the field and read as "capture off", which is what those endpoints had (the setting did not exist, and the
 * API defaults it to off); a CLI that predates the field refuses a newer file instead of dropping it, since endpoints
 * are strict objects (an unknown key is an error). A bump would only add a second version to read. Bump for changes
 * an older CLI would misread without noticing (a field whose absence means something other than its default).
 */
export const EXPORT_FORMAT_VERSION = 1;

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

const ExportPolicyVersionSchema = z.strictObject({
  version: z.number().int().min(1),
  traffic_policy: z.string(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lower-case hex digits'),
  message: z.string().max(1024),
  /** The version this one restored (a restore appends a copy); replayed as a restore so the link carries over. */
  restored_from: z.number().int().min(1).nullable(),
  /** Informational: the importing key becomes the author of the replayed versions. */
  /** Null for versions an agent session declared (never in an export today: agent endpoints are left out). */
  created_by: z.string().nullable(),
  created_at: z.string(),
});
export type ExportPolicyVersion = z.infer<typeof ExportPolicyVersionSchema>;

const ExportEndpointSchema = z
  .strictObject({
    /** The id in the source install (the target assigns new ids). */
    id: z.string(),
    url: z.string(),
    type: z.enum(endpointTypes),
    description: z.string().max(255),
    metadata: z.string().max(4096),
    upstream_url: z.string().nullable(),
    upstream_host_header: z.enum(upstreamHostHeaders),
    request_log_capture: z
      .strictObject({ headers: z.boolean(), bodies: z.boolean() })
      .default({ headers: false, bodies: false }),
    active_policy_version: z.number().int().min(1).nullable(),
    /** Oldest first, numbered 1..N without gaps (the API's versions are append-only). */
    policy_versions: z.array(ExportPolicyVersionSchema),
  })
  .superRefine((endpoint, context) => {
    const address = parseEndpointUrl(endpoint.url);
    if (!address.ok) context.addIssue({ code: 'custom', path: ['url'], message: address.problem });
    else if (address.value.type !== endpoint.type) {
      context.addIssue({ code: 'custom', path: ['type'], message: `does not match the host of ${endpoint.url}` });
    }
    if (endpoint.type === 'internal' && endpoint.upstream_url === null) {
      context.addIssue({ code: 'custom', path: ['upstream_url'], message: 'required for internal endpoints' });
    }
    if (endpoint.type === 'internal' && (endpoint.request_log_capture.headers || endpoint.request_log_capture.bodies)) {
      // The API would refuse it (ENDPOINT_CAPTURE_UNSUPPORTED) half-way through the import.
      context.addIssue({
        code: 'custom',
        path: ['request_log_capture'],
        message: 'internal endpoints cannot capture headers or bodies',
      });
    }
    if (endpoint.type === 'cloud' && endpoint.policy_versions.length === 0) {
      context.addIssue({
        code: 'custom',
        path: ['policy_versions'],
        message: 'a cloud endpoint has at least one version',
      });
    }
    endpoint.policy_versions.forEach((version, index) => {
      if (version.version !== index + 1) {
        context.addIssue({
          code: 'custom',
          path: ['policy_versions', index, 'version'],
          message: `expected ${index + 1}: versions are listed oldest first, numbered from 1 without gaps`,
        });
      }
      if (version.restored_from !== null && version.restored_from >= version.version) {
        context.addIssue({
          code: 'custom',
          path: ['policy_versions', index, 'restored_from'],
          message: 'must name an earlier version',
        });
      }
      if (sha256Hex(version.traffic_policy) !== version.sha256) {
        context.addIssue({
          code: 'custom',
          path: ['policy_versions', index, 'sha256'],
          message: 'does not match traffic_policy (the file was changed or damaged)',
        });
      }
    });
    const count = endpoint.policy_versions.length;
    if (count === 0 && endpoint.active_policy_version !== null) {
      context.addIssue({ code: 'custom', path: ['active_policy_version'], message: 'must be null without versions' });
    }
    if (count > 0 && (endpoint.active_policy_version === null || endpoint.active_policy_version > count)) {
      context.addIssue({
        code: 'custom',
        path: ['active_policy_version'],
        message: `must be a version from 1 to ${count}`,
      });
    }
  });
export type ExportEndpoint = z.infer<typeof ExportEndpointSchema>;

const ExportIpCategorySchema = z.strictObject({
  name: z.string().min(1),
  cidrs: z.array(z.string()),
  description: z.string().max(255),
});
export type ExportIpCategory = z.infer<typeof ExportIpCategorySchema>;

export const ExportFileSchema = z
  .strictObject({
    format: z.literal(EXPORT_FORMAT, { error: `must be "${EXPORT_FORMAT}" (is this a gatehouse export?)` }),
    format_version: z.literal(EXPORT_FORMAT_VERSION, {
      error: (issue) =>
        `unsupported format version ${JSON.stringify(issue.input)}; this CLI reads ${EXPORT_FORMAT_VERSION}`,
    }),
    exported_at: z.string(),
    source_api_url: z.string(),
    ip_categories: z.array(ExportIpCategorySchema),
    endpoints: z.array(ExportEndpointSchema),
  })
  .superRefine((file, context) => {
    const urls = new Set<string>();
    file.endpoints.forEach((endpoint, index) => {
      if (urls.has(endpoint.url)) {
        context.addIssue({
          code: 'custom',
          path: ['endpoints', index, 'url'],
          message: `${endpoint.url} is listed twice`,
        });
      }
      urls.add(endpoint.url);
    });
    const names = new Set<string>();
    file.ip_categories.forEach((category, index) => {
      if (names.has(category.name)) {
        context.addIssue({
          code: 'custom',
          path: ['ip_categories', index, 'name'],
          message: `${category.name} is listed twice`,
        });
      }
      names.add(category.name);
    });
  });
export type ExportFile = z.infer<typeof ExportFileSchema>;

/** Parses export JSON; every problem is listed with its field path. */
export function parseExportFile(text: string, name: string): ExportFile {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new CliError(`${name} is not JSON: ${(error as Error).message}`);
  }
  const parsed = ExportFileSchema.safeParse(json);
  if (!parsed.success) {
    throw new CliError(
      `${name} is not a valid gatehouse export (${parsed.error.issues.length} problem${parsed.error.issues.length === 1 ? '' : 's'})`,
      1,
      parsed.error.issues.map((issue) => `${formatFieldPath(issue.path)}: ${issue.message}`),
    );
  }
  return parsed.data;
}
