/**
 * The policy a new cloud endpoint starts with. A cloud endpoint's policy must always terminate, so the starting point
 * answers every request itself; the user replaces it (often with a forward-internal) in the policy editor.
 */
export const defaultCloudPolicy = `# Traffic Policy for this endpoint. Rules run top to bottom; the last rule must answer every request.
on_http_request:
  - name: Welcome
    actions:
      - type: custom-response
        config:
          status_code: 200
          headers:
            content-type: text/plain
          body: This is your new Gatehouse endpoint. Edit its Traffic Policy to decide what happens here.
`;

/** Internal endpoints may have no policy: unmatched traffic goes to the upstream. This is the starting text if wanted. */
export const defaultInternalPolicy = `# Optional. Requests that no rule answers are forwarded to this endpoint's upstream.
on_http_request: []
`;
