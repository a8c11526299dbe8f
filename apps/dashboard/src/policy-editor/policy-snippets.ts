/**
 * Recipes the snippet menu inserts into the policy being edited. Each is one rule of `on_http_request`, written at
 * zero indentation and re-indented to match the document. Checks (deny, authenticate, rate-limit) go first so they
 * run before anything answers; the forward goes last because it ends the phase.
 */
export interface PolicySnippet {
  id: string;
  title: string;
  description: string;
  placement: 'first' | 'last';
  rule: string;
}

export const policySnippets: readonly PolicySnippet[] = [
  {
    id: 'require-header',
    title: 'Require a header',
    description: 'Deny with 401 when the request has no Authorization header.',
    placement: 'first',
    rule: `- name: Require an Authorization header
  expressions:
    - "!hasReqHeader('Authorization')"
  actions:
    - type: deny
      config:
        status_code: 401
        body: Authorization required
`,
  },
  {
    id: 'ip-category-allow-list',
    title: 'Allow an IP category only',
    description: "Deny with 403 unless the client IP is in the category com.anthropic.api (Anthropic's API servers).",
    placement: 'first',
    rule: `- name: Allow only the com.anthropic.api IP category
  expressions:
    - "!('com.anthropic.api' in conn.client_ip.categories)"
  actions:
    - type: deny
      config:
        status_code: 403
        body: Forbidden
`,
  },
  {
    id: 'rate-limit-per-token',
    title: 'Rate limit per token',
    description:
      'At most 100 requests per 60 s for each bearer token (sliding window), then 429. getReqBearerToken() reads the token in one form whatever the case of "Bearer" or the spacing, so variants share a bucket; after jwt-validation, actions.ngrok.jwt_validation.tokens[0].payload.sub keys on the user instead.',
    placement: 'first',
    rule: `- name: Rate limit per token
  actions:
    - type: rate-limit
      config:
        name: per-token
        algorithm: sliding_window
        capacity: 100
        rate: 60s
        bucket_key:
          - getReqBearerToken()
`,
  },
  {
    id: 'jwt-for-mcp',
    title: 'JWT for MCP',
    description:
      'Require a valid bearer JWT; a 401 names the protected resource metadata so MCP clients can find the authorization server.',
    placement: 'first',
    rule: `- name: Require a valid access token (MCP authorization)
  actions:
    - type: jwt-validation
      config:
        issuer:
          allow_list:
            - value: https://auth.example.com/
        audience:
          allow_list:
            - value: https://mcp.example.com
        http:
          tokens:
            - type: jwt
              method: header
              name: Authorization
              prefix: "Bearer "
          www_authenticate:
            resource_metadata: https://mcp.example.com/.well-known/oauth-protected-resource
        jws:
          allowed_algorithms:
            - RS256
          keys:
            sources:
              additional_jkus:
                - https://auth.example.com/.well-known/jwks.json
`,
  },
  {
    id: 'forward-internal',
    title: 'Forward to an internal endpoint',
    description: 'Send every request that reaches this rule to a private upstream registered as an internal endpoint.',
    placement: 'last',
    rule: `- name: Forward to the internal endpoint
  actions:
    - type: forward-internal
      config:
        url: https://mcp.example.internal
`,
  },
];

export interface SnippetInsertion {
  text: string;
  /** 1-based line where the inserted rule starts, to reveal it in the editor. */
  firstInsertedLine: number;
}

const phaseKeyPattern = /^(on_http_request|inbound)\s*:\s*(\[\s*\])?\s*(#.*)?$/;
const topLevelKeyPattern = /^[^\s#-]/;

function indentLines(rule: string, indent: number): string[] {
  const padding = ' '.repeat(indent);
  return rule
    .replace(/\n$/, '')
    .split('\n')
    .map((line) => (line ? padding + line : line));
}

/**
 * Inserts a snippet's rule into the YAML text of a policy, leaving every other line untouched (comments included).
 * JSON policies are re-serialized instead, since JSON has no place for a YAML block.
 */
export function insertSnippet(
  policyText: string,
  snippet: PolicySnippet,
  parseYaml: (text: string) => unknown,
): SnippetInsertion {
  if (policyText.trimStart().startsWith('{')) return insertIntoJsonPolicy(policyText, snippet, parseYaml);

  const lines = policyText.replace(/\n$/, '').split('\n');
  if (lines.length === 1 && lines[0] === '') lines.pop();
  const keyIndex = lines.findIndex((line) => phaseKeyPattern.test(line));

  if (keyIndex === -1) {
    const prefix = lines.length > 0 ? [...lines, ''] : [];
    const inserted = indentLines(snippet.rule, 2);
    return {
      text: [...prefix, 'on_http_request:', ...inserted].join('\n') + '\n',
      firstInsertedLine: prefix.length + 2,
    };
  }

  // `on_http_request: []` becomes a block list.
  lines[keyIndex] = lines[keyIndex]!.replace(/:\s*\[\s*\]/, ':');

  let blockEnd = lines.length;
  for (let index = keyIndex + 1; index < lines.length; index += 1) {
    const line = lines[index]!;
    if (topLevelKeyPattern.test(line)) {
      blockEnd = index;
      break;
    }
  }
  const itemLines: number[] = [];
  for (let index = keyIndex + 1; index < blockEnd; index += 1) {
    if (/^\s*-(\s|$)/.test(lines[index]!)) itemLines.push(index);
  }
  const firstItem = itemLines[0];
  const indent = firstItem === undefined ? 2 : lines[firstItem]!.search(/-/);
  const inserted = indentLines(snippet.rule, indent);

  let insertAt: number;
  if (snippet.placement === 'first') {
    insertAt = firstItem ?? keyIndex + 1;
  } else {
    insertAt = keyIndex + 1;
    for (let index = blockEnd - 1; index > keyIndex; index -= 1) {
      const line = lines[index]!;
      if (line.trim() && !line.trim().startsWith('#')) {
        insertAt = index + 1;
        break;
      }
    }
  }
  lines.splice(insertAt, 0, ...inserted);
  return { text: lines.join('\n') + '\n', firstInsertedLine: insertAt + 1 };
}

function insertIntoJsonPolicy(
  policyText: string,
  snippet: PolicySnippet,
  parseYaml: (text: string) => unknown,
): SnippetInsertion {
  let document: Record<string, unknown>;
  try {
    document = JSON.parse(policyText) as Record<string, unknown>;
  } catch {
    throw new Error('Fix the JSON syntax errors before inserting a recipe.');
  }
  const [rule] = parseYaml(snippet.rule) as unknown[];
  const existing = document.on_http_request;
  const rules = Array.isArray(existing) ? [...(existing as unknown[])] : [];
  if (snippet.placement === 'first') rules.unshift(rule);
  else rules.push(rule);
  document.on_http_request = rules;
  return { text: JSON.stringify(document, null, 2) + '\n', firstInsertedLine: 1 };
}
