import { describe, expect, it } from 'vitest';
import { describeEndpointUrlProblem, describeUpstreamUrlProblem } from './url-field-rules';

// The rules themselves are @gatehouse/contracts' and tested there; these check what the forms add and pass on.
describe('describeEndpointUrlProblem', () => {
  it('asks for a URL while the field is empty', () => {
    expect(describeEndpointUrlProblem('', 'cloud')).toBe(
      'Enter the URL clients will call, e.g. https://mcp.example.com',
    );
    // The example matches the type: an internal endpoint is never told to use a public host.
    expect(describeEndpointUrlProblem('   ', 'internal')).toMatch(
      /^Enter the private URL.*https:\/\/mcp\.example\.internal$/,
    );
  });

  it.each([
    ['https://mcp.example.com', 'cloud'],
    ['https://*.example.com', 'cloud'],
    ['https://mcp.example.internal', 'internal'],
    ['https://mcp.example.com/', 'cloud'],
  ] as const)('accepts %s for %s', (url, type) => {
    expect(describeEndpointUrlProblem(url, type)).toBeNull();
  });

  it.each([
    ['mcp.example.com', 'cloud', /is not a URL \(expected e\.g\. https:\/\/mcp\.example\.com\)/],
    ['ftp://mcp.example.com', 'cloud', /http or https, not ftp/],
    ['https://mcp.example.internal', 'cloud', /must not end in .internal/],
    ['https://mcp.example.com', 'internal', /^Internal endpoint hosts must end in .internal$/],
  ] as const)('says what is wrong with %j for %s in the words of the API', (url, type, problem) => {
    expect(describeEndpointUrlProblem(url, type)).toMatch(problem);
  });
});

describe('describeUpstreamUrlProblem', () => {
  it('asks for the upstream while the field is empty', () => {
    expect(describeUpstreamUrlProblem('')).toMatch(/^Internal endpoints forward to an upstream/);
  });

  it('accepts http(s) URLs, paths included, and passes on the rules otherwise', () => {
    expect(describeUpstreamUrlProblem('http://127.0.0.1:3333')).toBeNull();
    expect(describeUpstreamUrlProblem('https://10.0.0.5/mcp')).toBeNull();
    expect(describeUpstreamUrlProblem('ws://127.0.0.1:3333')).toMatch(/http or https URL/);
    expect(describeUpstreamUrlProblem('http://127.0.0.1/#x')).toMatch(/fragment/);
  });
});
