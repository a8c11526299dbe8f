import { describe, expect, it } from 'vitest';
import { authtokenAllowsHost, authtokenUrlPatternProblem } from './authtoken-patterns.js';

describe('authtoken URL patterns', () => {
  it('accepts exact hosts and leading wildcards', () => {
    for (const pattern of ['mcp.example.internal', '*.team-a.internal', 'api.example.com', '*.a.b.example.com'])
      expect(authtokenUrlPatternProblem(pattern)).toBeUndefined();
  });

  it('refuses what is not a host pattern, saying why', () => {
    expect(authtokenUrlPatternProblem('https://mcp.example.internal')).toMatch(/host only/);
    expect(authtokenUrlPatternProblem('MCP.example.internal')).toMatch(/lower-case/);
    expect(authtokenUrlPatternProblem('*')).toMatch(/leave url_patterns empty/);
    expect(authtokenUrlPatternProblem('mcp.example.internal:443')).toMatch(/port/);
    expect(authtokenUrlPatternProblem('mcp.*.internal')).toMatch(/first label/);
    expect(authtokenUrlPatternProblem('*mcp.internal')).toMatch(/not a host pattern/);
    expect(authtokenUrlPatternProblem('internal')).toMatch(/at least two/);
    expect(authtokenUrlPatternProblem('-bad.internal')).toMatch(/not a host pattern/);
    expect(authtokenUrlPatternProblem(`${'a'.repeat(250)}.internal`)).toMatch(/at most 253/);
  });

  it('matches exact hosts exactly and wildcards on one or more extra labels', () => {
    expect(authtokenAllowsHost([], 'anything.example.com')).toBe(true);
    expect(authtokenAllowsHost(['mcp.example.internal'], 'mcp.example.internal')).toBe(true);
    expect(authtokenAllowsHost(['mcp.example.internal'], 'MCP.example.internal.')).toBe(true);
    expect(authtokenAllowsHost(['mcp.example.internal'], 'other.example.internal')).toBe(false);
    const team = ['*.team-a.internal'];
    expect(authtokenAllowsHost(team, 'mcp.team-a.internal')).toBe(true);
    expect(authtokenAllowsHost(team, 'a.b.team-a.internal')).toBe(true);
    expect(authtokenAllowsHost(team, 'team-a.internal')).toBe(false);
    expect(authtokenAllowsHost(team, 'evilteam-a.internal')).toBe(false);
    expect(authtokenAllowsHost(team, 'mcp.team-b.internal')).toBe(false);
  });

  it('covers a wildcard endpoint host only with a wildcard that covers all it matches', () => {
    expect(authtokenAllowsHost(['*.team-a.internal'], '*.team-a.internal')).toBe(true);
    expect(authtokenAllowsHost(['*.team-a.internal'], '*.mcp.team-a.internal')).toBe(true);
    expect(authtokenAllowsHost(['mcp.team-a.internal'], '*.team-a.internal')).toBe(false);
    expect(authtokenAllowsHost(['*.mcp.team-a.internal'], '*.team-a.internal')).toBe(false);
  });
});
