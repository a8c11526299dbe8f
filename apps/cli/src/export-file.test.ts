import { describe, expect, it } from 'vitest';
import { CliError } from './cli-errors.js';
import { EXPORT_FORMAT, EXPORT_FORMAT_VERSION, type ExportFile, parseExportFile, sha256Hex } from './export-file.js';

const policy = (status: number): string =>
  `on_http_request:\n  - actions:\n      - type: deny\n        config: { status_code: ${status} }\n`;

function version(number: number, text: string, restoredFrom: number | null = null) {
  return {
    version: number,
    traffic_policy: text,
    sha256: sha256Hex(text),
    message: `v${number}`,
    restored_from: restoredFrom,
    created_by: 'admin@example.com',
    created_at: '2026-01-01T00:00:00.000Z',
  };
}

function validExport(): ExportFile {
  return {
    format: EXPORT_FORMAT,
    format_version: EXPORT_FORMAT_VERSION,
    exported_at: '2026-01-01T00:00:00.000Z',
    source_api_url: 'http://127.0.0.1:4000',
    ip_categories: [{ name: 'office', cidrs: ['10.0.0.0/8'], description: '' }],
    endpoints: [
      {
        id: 'ep_up',
        url: 'https://up.example.internal',
        type: 'internal',
        description: '',
        metadata: '',
        upstream_url: 'http://127.0.0.1:3333',
        upstream_host_header: 'preserve',
        request_log_capture: { headers: false, bodies: false },
        active_policy_version: null,
        policy_versions: [],
      },
      {
        id: 'ep_a',
        url: 'https://a.example.com',
        type: 'cloud',
        description: 'A',
        metadata: '',
        upstream_url: null,
        upstream_host_header: 'preserve',
        request_log_capture: { headers: true, bodies: false },
        active_policy_version: 3,
        policy_versions: [version(1, policy(403)), version(2, policy(401)), version(3, policy(403), 1)],
      },
    ],
  };
}

function problemsOf(value: unknown): readonly string[] {
  try {
    parseExportFile(JSON.stringify(value), 'export.json');
  } catch (error) {
    if (error instanceof CliError) return error.detailLines;
    throw error;
  }
  throw new Error('expected the export to be rejected');
}

describe('parseExportFile', () => {
  it('accepts what export writes', () => {
    expect(parseExportFile(JSON.stringify(validExport()), 'export.json')).toEqual(validExport());
  });

  it('refuses other formats and versions', () => {
    expect(problemsOf({ ...validExport(), format_version: 2 })).toEqual([
      'format_version: unsupported format version 2; this CLI reads 1',
    ]);
    expect(problemsOf({ ...validExport(), format: 'something-else' })).toEqual([
      'format: must be "gatehouse-export" (is this a gatehouse export?)',
    ]);
    expect(() => parseExportFile('{"format": ', 'export.json')).toThrow(/export.json is not JSON/);
  });

  it('detects edited or damaged policy text through its sha256', () => {
    const file = validExport();
    const endpoint = file.endpoints[1];
    if (endpoint?.policy_versions[1]) endpoint.policy_versions[1].traffic_policy = policy(418);
    expect(problemsOf(file)).toEqual([
      'endpoints[1].policy_versions[1].sha256: does not match traffic_policy (the file was changed or damaged)',
    ]);
  });

  it('requires versions numbered 1..N oldest first and an active version among them', () => {
    const file = validExport();
    const endpoint = file.endpoints[1];
    if (endpoint) {
      endpoint.policy_versions = [version(1, policy(403)), version(3, policy(401), 3)];
      endpoint.active_policy_version = 7;
    }
    expect(problemsOf(file)).toEqual([
      'endpoints[1].policy_versions[1].version: expected 2: versions are listed oldest first, numbered from 1 without gaps',
      'endpoints[1].policy_versions[1].restored_from: must name an earlier version',
      'endpoints[1].active_policy_version: must be a version from 1 to 2',
    ]);
  });

  it('checks endpoint shapes: type against host, upstream for internal, versions for cloud, duplicates', () => {
    const file = validExport();
    const [internal, cloud] = file.endpoints;
    if (internal && cloud) {
      internal.upstream_url = null;
      cloud.type = 'internal';
      file.endpoints.push({ ...cloud, type: 'cloud', policy_versions: [], active_policy_version: null });
    }
    expect(problemsOf(file)).toEqual([
      'endpoints[0].upstream_url: required for internal endpoints',
      'endpoints[1].type: does not match the host of https://a.example.com',
      'endpoints[1].upstream_url: required for internal endpoints',
      'endpoints[1].request_log_capture: internal endpoints cannot capture headers or bodies',
      'endpoints[2].policy_versions: a cloud endpoint has at least one version',
      'endpoints[2].url: https://a.example.com is listed twice',
    ]);
  });

  it('reads format_version 1 files written before request_log_capture existed as capture off', () => {
    const old = JSON.parse(JSON.stringify(validExport())) as { endpoints: Record<string, unknown>[] };
    for (const endpoint of old.endpoints) delete endpoint.request_log_capture;
    const parsed = parseExportFile(JSON.stringify(old), 'old.json');
    expect(parsed.endpoints.map((endpoint) => endpoint.request_log_capture)).toEqual([
      { headers: false, bodies: false },
      { headers: false, bodies: false },
    ]);
  });

  it('checks request_log_capture: both options, booleans, and off on internal endpoints', () => {
    const file = JSON.parse(JSON.stringify(validExport())) as { endpoints: Record<string, unknown>[] };
    const [internal, cloud] = file.endpoints;
    if (internal && cloud) {
      internal.request_log_capture = { headers: false, bodies: true };
      cloud.request_log_capture = { headers: 'yes', body: false };
    }
    expect(problemsOf(file)).toEqual([
      'endpoints[0].request_log_capture: internal endpoints cannot capture headers or bodies',
      'endpoints[1].request_log_capture.headers: Invalid input: expected boolean, received string',
      'endpoints[1].request_log_capture.bodies: Invalid input: expected boolean, received undefined',
      'endpoints[1].request_log_capture: Unrecognized key: "body"',
    ]);
  });

  it('rejects unknown fields (a typo would otherwise be dropped silently)', () => {
    expect(problemsOf({ ...validExport(), endpoint: [] })).toEqual(['(root): Unrecognized key: "endpoint"']);
  });
});
