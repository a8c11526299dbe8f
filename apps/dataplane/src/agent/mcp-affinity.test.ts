import { describe, expect, it } from 'vitest';
import { isAffinityKey, MemoryMcpAffinity } from './mcp-affinity.js';
import { tunnelHeaders } from './tunnel-dispatch.js';

describe('MemoryMcpAffinity', () => {
  it('remembers the member per endpoint until the TTL, and drops the oldest beyond the cap', async () => {
    let now = 0;
    const affinity = new MemoryMcpAffinity(1_000, 2, () => now);
    affinity.set('ep_a', 'mcp-1', 'as_one');
    affinity.set('ep_b', 'mcp-1', 'as_two');
    expect(await affinity.get('ep_a', 'mcp-1')).toBe('as_one');
    expect(await affinity.get('ep_b', 'mcp-1')).toBe('as_two');
    now = 1_000;
    expect(await affinity.get('ep_a', 'mcp-1')).toBeUndefined();
    affinity.set('ep_a', 'x', 'as_1');
    affinity.set('ep_a', 'y', 'as_2');
    affinity.set('ep_a', 'z', 'as_3');
    expect(await affinity.get('ep_a', 'x')).toBeUndefined();
    expect(await affinity.get('ep_a', 'z')).toBe('as_3');
  });

  it('ignores ids that are not visible ASCII or too long', () => {
    expect(isAffinityKey('abc-123')).toBe(true);
    expect(isAffinityKey('a b')).toBe(false);
    expect(isAffinityKey('x'.repeat(257))).toBe(false);
    expect(isAffinityKey('é')).toBe(false);
  });
});

describe('tunnelHeaders', () => {
  it('drops connection-specific headers, joins repeats, moves Host to :authority and names the endpoint', () => {
    const { headers, authority } = tunnelHeaders({
      endpointUrl: 'https://mcp.example.internal',
      headers: [
        'Host',
        'gw.example.com',
        'Connection',
        'keep-alive',
        'Keep-Alive',
        'timeout=5',
        'Transfer-Encoding',
        'chunked',
        'TE',
        'gzip',
        'Accept',
        'a',
        'accept',
        'b',
        'gatehouse-agent-endpoint',
        'https://forged.internal',
      ],
    });
    expect(authority).toBe('gw.example.com');
    expect(headers).toEqual({ accept: ['a', 'b'], 'gatehouse-agent-endpoint': 'https://mcp.example.internal' });
  });
});
