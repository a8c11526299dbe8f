/**
 * Save-time warnings (POLICY_EXPRESSION_MAY_FAIL) for CEL that fails at runtime when the request lacks a key: a
 * header-map index `req.headers['x']`, a field selection `req.headers.x`, or `[0]` on `getReqHeader('x')` (an empty list
 * when the header is absent), or an MCP tool argument `mcp.arguments.x` (issue 14's argument-level rules). Since a runtime failure answers POLICY_RUNTIME_ERROR (fail closed), such a policy 500s
 * on every request without the key; the warning names the safe form. It reads the source text rather than the CEL
 * AST, so it does not depend on the CEL library; it is a heuristic: an access counts as guarded when the same rule
 * also tests the key with `hasReqHeader('x')`, `'x' in req.headers`, `has(req.headers.x)` or `size(getReqHeader('x'))`.
 */

export interface AbsentKeyRisk {
  /** Offset in the source where the risky access starts. */
  offset: number;
  message: string;
}

interface KeyedMap {
  /** How the map is written in CEL. */
  map: string;
  /** The lookup functions that never fail (none for `mcp.arguments`: `'k' in` and `has()` guard it). */
  has?: string;
  get?: string;
  /** What a missing key is called in messages, and what lacks it. */
  noun: string;
  /** What `get` returns for an absent key. */
  absent: string;
  owner: 'request' | 'response' | 'call';
  caseInsensitive: boolean;
}

const keyedMaps: readonly KeyedMap[] = [
  {
    map: 'req.headers',
    has: 'hasReqHeader',
    get: 'getReqHeader',
    noun: 'header',
    absent: 'an empty list',
    owner: 'request',
    caseInsensitive: true,
  },
  {
    map: 'res.headers',
    has: 'hasResHeader',
    get: 'getResHeader',
    noun: 'header',
    absent: 'an empty list',
    owner: 'response',
    caseInsensitive: true,
  },
  {
    map: 'req.cookies',
    has: 'hasReqCookie',
    get: 'getReqCookie',
    noun: 'cookie',
    // ngrok's getReqCookie returns a cookie object, empty (value '') when absent (cel-cookies.ts).
    absent: 'an empty cookie',
    owner: 'request',
    caseInsensitive: false,
  },
  {
    map: 'req.url.query_params',
    has: 'hasQueryParam',
    get: 'getQueryParam',
    noun: 'query parameter',
    absent: 'an empty list',
    owner: 'request',
    caseInsensitive: false,
  },
  {
    map: 'mcp.arguments',
    noun: 'argument',
    absent: 'absent',
    owner: 'call',
    caseInsensitive: false,
  },
];

/**
 * `req.headers['x']` (groups: map, quote, key), `req.headers[expr]` (map, expr) or `req.headers.x` (map, field) — but
 * not a method such as `req.headers.size()`.
 */
const mapAccess =
  /\b(req\.headers|res\.headers|req\.cookies|req\.url\.query_params|mcp\.arguments)\s*(?:\[\s*(?:(['"])((?:\\.|(?!\2)[^\\])*)\2\s*\]|([^\]]*)\])|\.([A-Za-z_]\w*)\b(?!\s*\())/g;
/** `getReqHeader('x')[…]` (groups: function, quote, key): an index into a list that is empty when the key is absent. */
const listIndex = /\b(get(?:ReqHeader|ResHeader|QueryParam))\(\s*(['"])((?:\\.|(?!\2)[^\\])*)\2\s*\)\s*\[/g;

/** `actions.ngrok.oidc.refresh_token` (group: the action's results). */
const refreshToken = /\b(actions\.(?:ngrok|gatehouse)\.(?:oidc|oauth))\.refresh_token\b/g;

/**
 * The risky accesses in `source`. `guards` is the text that runs before it and must be true for it to run (the earlier
 * expressions of the same rule, and for an action's config the whole rule's expressions), plus `source` itself.
 */
export function findAbsentKeyRisks(source: string, guards: string): AbsentKeyRisk[] {
  const risks: AbsentKeyRisk[] = [];
  for (const match of source.matchAll(mapAccess)) {
    const keyed = keyedMaps.find((candidate) => candidate.map === match[1])!;
    const fieldName = match[5];
    // `has(req.headers.x)` is the guard itself, not an access.
    if (fieldName !== undefined && /\bhas\(\s*$/.test(source.slice(0, match.index))) continue;
    const key = fieldName ?? match[3];
    const written = match[0].trim();
    // Header maps are keyed by lower-case names (as ngrok documents), so a key with capitals never matches, guarded or
    // not (hasReqHeader is case-insensitive). ngrok's own gallery has `req.headers['X-Api-Version']`.
    if (
      (keyed.map === 'req.headers' || keyed.map === 'res.headers') &&
      key !== undefined &&
      key !== key.toLowerCase()
    ) {
      risks.push({
        offset: match.index,
        message: `${written} never finds a header: ${keyed.map} is keyed by lower-case names, so it fails at runtime (500 POLICY_RUNTIME_ERROR) whenever it is evaluated. Write ${keyed.map}['${key.toLowerCase()}'], or ${keyed.get ?? 'getReqHeader'}('${key}') (an empty list when absent).`,
      });
      continue;
    }
    if (keyed.has === undefined || keyed.get === undefined) {
      if (key !== undefined && isGuarded(guards, keyed, key)) continue;
      const name = key ?? 'name';
      risks.push({
        offset: match.index,
        message: `${written} fails at runtime when the ${keyed.owner} has no ${key ?? 'such'} ${keyed.noun}, and a failing expression answers 500 POLICY_RUNTIME_ERROR. Guard it: '${name}' in ${keyed.map} && …, or has(${keyed.map}.${name}) && …`,
      });
      continue;
    }
    if (key === undefined) {
      risks.push({
        offset: match.index,
        message: `${written} fails at runtime when the ${keyed.owner} has no such ${keyed.noun}, and a failing expression answers 500 POLICY_RUNTIME_ERROR. Use ${keyed.get}(name), which is ${keyed.absent} when it is absent, or test it first with ${keyed.has}(name).`,
      });
      continue;
    }
    if (isGuarded(guards, keyed, key)) continue;
    risks.push({
      offset: match.index,
      message: `${written} fails at runtime when the ${keyed.owner} has no ${key} ${keyed.noun}, and a failing expression answers 500 POLICY_RUNTIME_ERROR. Write ${keyed.get}('${key}') (${keyed.absent} when absent), or guard it: ${keyed.has}('${key}') && …`,
    });
  }
  // ngrok documents `refresh_token` among the sign-in results; Gatehouse keeps the refresh token inside the sealed
  // session cookie only (it mints access tokens for the session's whole life), so the key is never there.
  for (const match of source.matchAll(refreshToken)) {
    risks.push({
      offset: match.index,
      message: `${match[0]} is never set: Gatehouse keeps the refresh token inside the sealed session cookie (it refreshes the access token itself), so reading it fails at runtime (500 POLICY_RUNTIME_ERROR). Use ${match[1]}.access_token, which is refreshed before it expires.`,
    });
  }
  for (const match of source.matchAll(listIndex)) {
    const keyed = keyedMaps.find((candidate) => candidate.get === match[1])!;
    const key = match[3]!;
    if (isGuarded(guards, keyed, key)) continue;
    risks.push({
      offset: match.index,
      message: `${keyed.get}('${key}')[…] fails at runtime when the ${keyed.owner} has no ${key} ${keyed.noun} (the list is empty), and a failing expression answers 500 POLICY_RUNTIME_ERROR. Guard it: ${keyed.has}('${key}') && ${keyed.get}('${key}')[0] == …, or test membership: 'value' in ${keyed.get}('${key}').${keyed.map === 'req.headers' && key.toLowerCase() === 'authorization' ? " For a bearer token, getReqBearerToken() is '' when there is none." : ''}`,
    });
  }
  return risks.sort((left, right) => left.offset - right.offset);
}

function isGuarded(guards: string, keyed: KeyedMap, key: string): boolean {
  const text = keyed.caseInsensitive ? guards.toLowerCase() : guards;
  const name = escapeRegExp(keyed.caseInsensitive ? key.toLowerCase() : key);
  const fn = (identifier: string) => escapeRegExp(keyed.caseInsensitive ? identifier.toLowerCase() : identifier);
  const quoted = String.raw`(['"])${name}\1`;
  const map = escapeRegExp(keyed.map);
  const lookups =
    keyed.has === undefined || keyed.get === undefined
      ? []
      : [
          String.raw`\b${fn(keyed.has)}\(\s*${quoted}\s*\)`,
          String.raw`\bsize\(\s*${fn(keyed.get)}\(\s*${quoted}\s*\)\s*\)`,
          String.raw`\b${fn(keyed.get)}\(\s*${quoted}\s*\)\s*\.size\(\)`,
        ];
  return [...lookups, String.raw`${quoted}\s+in\s+${map}\b`, String.raw`\bhas\(\s*${map}\.${name}\s*\)`].some(
    (pattern) => new RegExp(pattern).test(text),
  );
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
