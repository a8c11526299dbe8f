// The policy of DESIGN.md §1 step 3, and the same policy with one mistake the engine must catch on line 11.
export const walkthroughPolicy = `on_http_request:
  - name: Allow only Anthropic's API servers
    expressions:
      - "!('com.anthropic.api' in conn.client_ip.categories)"
    actions:
      - type: deny
        config:
          status_code: 403
  - name: Require an Authorization header
    expressions:
      - "!hasReqHeader('Authorization')"
    actions:
      - type: deny
        config:
          status_code: 401
          body: Authorization required
  - name: Rate limit per token
    actions:
      - type: rate-limit
        config:
          name: per-token
          algorithm: sliding_window
          capacity: 100
          rate: 60s
          bucket_key:
            - getReqHeader('Authorization')
  - name: Forward to the MCP server
    actions:
      - type: forward-internal
        config:
          url: https://mcp.example.internal
`;

export const invalidExpressionLine = 11;
export const walkthroughPolicyWithInvalidExpression = walkthroughPolicy.replace(
  `"!hasReqHeader('Authorization')"`,
  `"!hasReqHeader(42)"`,
);
