// Which endpoint URLs an authtoken may claim for its agent sessions (DESIGN.md §4 "Authtoken"). The API checks the
// patterns when a token is created and again when an agent declares an endpoint; the agent's `config check` can use
// the same rule to fail early. Pure, so it runs wherever the contracts do.

/** A host pattern: an exact host (`mcp.example.internal`) or `*.` and a suffix (`*.team-a.internal`). */
export type AuthtokenUrlPattern = string;

const hostLabel = '[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?';
const patternSyntax = new RegExp(`^(?:\\*\\.)?(?:${hostLabel}\\.)+${hostLabel}$`);
const maxPatternLength = 253;
export const maxAuthtokenUrlPatterns = 100;

/**
 * One sentence saying what is wrong with `pattern`, or undefined when it is a valid pattern. Patterns are host names
 * only (lower-case, at least two labels, an optional leading `*.`), because the scheme and port are the gateway's and
 * the path is the upstream's: a token is scoped by the names it may claim.
 */
export function authtokenUrlPatternProblem(pattern: string): string | undefined {
  if (pattern.includes('://') || pattern.includes('/'))
    return `"${pattern}" is not a host pattern: give the host only, e.g. mcp.example.internal or *.team-a.internal`;
  if (pattern !== pattern.toLowerCase()) return `"${pattern}" must be lower-case`;
  if (pattern.length > maxPatternLength) return `a host pattern has at most ${maxPatternLength} characters`;
  if (pattern === '*' || pattern === '*.')
    return '"*" would allow every host: leave url_patterns empty to allow any URL';
  if (pattern.includes(':')) return `"${pattern}" must not carry a port: patterns name hosts`;
  if (pattern.indexOf('*') > 0) return `"${pattern}" may use * only as its whole first label, as in *.team-a.internal`;
  if (!patternSyntax.test(pattern))
    return `"${pattern}" is not a host pattern: labels of letters, digits and inner hyphens separated by dots, at least two, e.g. *.team-a.internal`;
  return undefined;
}

/**
 * Whether an endpoint host may be claimed under `patterns` (empty = any host). A wildcard pattern covers hosts with at
 * least one more label (`*.team-a.internal` covers `mcp.team-a.internal` and `a.b.team-a.internal`, not
 * `team-a.internal`); a wildcard endpoint host (`*.mcp.team-a.internal`) is covered only by a wildcard that covers
 * every name it can match.
 */
export function authtokenAllowsHost(patterns: readonly AuthtokenUrlPattern[], host: string): boolean {
  if (patterns.length === 0) return true;
  const claimed = host.toLowerCase().replace(/\.$/, '');
  return patterns.some((pattern) => {
    if (!pattern.startsWith('*.')) return claimed === pattern;
    const suffix = pattern.slice(1);
    // A wildcard endpoint host `*.x.suffix` matches names that all end in `.x.suffix`, so it is covered; `*.suffix`
    // itself is covered too, since it matches exactly the names the pattern does.
    const body = claimed.startsWith('*.') ? claimed.slice(2) : claimed;
    return claimed === pattern || (body.endsWith(suffix) && body.length > suffix.length);
  });
}
