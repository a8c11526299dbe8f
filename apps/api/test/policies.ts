import { readFileSync } from 'node:fs';
import path from 'node:path';

/** DESIGN.md §1 step 3: the walkthrough policy for https://mcp.example.com. */
export const WALKTHROUGH_POLICY = readFileSync(path.join(__dirname, 'fixtures/walkthrough-policy.yaml'), 'utf8');

export const DENY_ALL_POLICY = `on_http_request:
  - actions:
      - type: deny
        config: { status_code: 403 }
`;

export const CUSTOM_RESPONSE_POLICY = `on_http_request:
  - actions:
      - type: custom-response
        config: { status_code: 200, body: "hello" }
`;

/** Valid YAML, but a cloud policy that may fall through (no unconditional terminating rule). */
export const NON_TERMINATING_POLICY = `on_http_request:
  - actions:
      - type: add-headers
        config: { headers: { x-a: b } }
`;

export const BAD_YAML_POLICY = `on_http_request:
  - actions: [
      - type: deny
`;
