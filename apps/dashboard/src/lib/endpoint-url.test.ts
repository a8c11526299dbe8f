import { describe, expect, it } from 'vitest';
import { describeEndpointUrlProblem, describeUpstreamUrlProblem } from './endpoint-url';

describe('describeEndpointUrlProblem (the API rules, checked in the browser)', () => {
  it.each([
    ['https://mcp.example.com', 'cloud'],
    ['http://mcp.example.com:8080', 'cloud'],
    ['https://*.example.com', 'cloud'],
    ['https://mcp.example.internal', 'internal'],
    ['https://mcp.example.com/', 'cloud'],
  ] as const)('accepts %s for %s', (url, type) => {
    expect(describeEndpointUrlProblem(url, type)).toBeNull();
  });

  it.each([
    ['', 'cloud', /Enter the URL/],
    ['mcp.example.com', 'cloud', /starts with http/],
    ['ftp://mcp.example.com', 'cloud', /http or https, not ftp/],
    ['https://user:secret@mcp.example.com', 'cloud', /credentials/],
    ['https://mcp.example.com/path', 'cloud', /no path/],
    ['https://mcp.example.com?x=1', 'cloud', /no path, query/],
    ['https://mcp.example.internal', 'cloud', /must not end in .internal/],
    ['https://mcp.example.com', 'internal', /must end in .internal/],
    ['https://*.example.internal', 'internal', /wildcard/],
    ['https://bad_host.example.com', 'cloud', /not a valid host/],
  ] as const)('rejects %j for %s', (url, type, problem) => {
    expect(describeEndpointUrlProblem(url, type)).toMatch(problem);
  });
});

describe('describeUpstreamUrlProblem', () => {
  it('accepts http(s) URLs, paths included', () => {
    expect(describeUpstreamUrlProblem('http://127.0.0.1:3333')).toBeNull();
    expect(describeUpstreamUrlProblem('https://10.0.0.5/mcp')).toBeNull();
  });

  it.each([
    ['', /Internal endpoints forward/],
    ['127.0.0.1:3333', /http or https URL|starts with http/],
    ['ws://127.0.0.1:3333', /http or https URL/],
    ['http://user:pw@127.0.0.1', /credentials/],
    ['http://127.0.0.1/#x', /fragment/],
  ] as const)('rejects %j', (url, problem) => {
    expect(describeUpstreamUrlProblem(url)).toMatch(problem);
  });
});
