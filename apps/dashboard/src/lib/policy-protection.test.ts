import { describe, expect, it } from 'vitest';
import { droppedProtections, protectiveActionsOf } from './policy-protection';

const withJwtAndIps = `on_http_request:
  - name: only Anthropic
    expressions: ["!('com.anthropic.api' in conn.client_ip.categories)"]
    actions:
      - type: restrict-ips
        config: { enforce: true, allow: ["160.79.104.0/21"] }
  - actions:
      - type: jwt-validation
        config: {}
  - actions:
      - type: forward-internal
        config: { url: https://mcp.example.internal }
`;
const openPolicy = `on_http_request:
  - actions:
      - type: forward-internal
        config: { url: https://mcp.example.internal }
`;
const basicAuthOnly = `{"on_http_request":[{"actions":[{"type":"basic-auth","config":{}}]}]}`;

describe('protections a restore would drop', () => {
  it('finds the protective actions of every phase, in YAML and JSON', () => {
    expect([...protectiveActionsOf(withJwtAndIps)].sort()).toEqual(['jwt-validation', 'restrict-ips']);
    expect([...protectiveActionsOf(basicAuthOnly)]).toEqual(['basic-auth']);
    expect(protectiveActionsOf(openPolicy).size).toBe(0);
    expect(protectiveActionsOf('on_http_request: [').size).toBe(0);
    expect(protectiveActionsOf(null).size).toBe(0);
  });

  it('names what the active version has and the restored one lacks', () => {
    expect(droppedProtections(withJwtAndIps, openPolicy)).toEqual([
      'JWT validation (jwt-validation)',
      'IP restriction (restrict-ips)',
    ]);
    expect(droppedProtections(withJwtAndIps, basicAuthOnly)).toEqual([
      'JWT validation (jwt-validation)',
      'IP restriction (restrict-ips)',
    ]);
    expect(droppedProtections(openPolicy, withJwtAndIps)).toEqual([]);
    expect(droppedProtections(null, openPolicy)).toEqual([]);
  });
});
