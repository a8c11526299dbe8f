// The control plane's error body and policy issue (DESIGN.md §5), the one copy. The API writes them and documents them
// in OpenAPI (the `id` metadata names the component); the generated API client, the dashboard and the CLI read them.
import { z } from 'zod';

/** One problem in an error body: a policy issue carries its line and column, a field problem its path. */
export const ErrorDetailSchema = z
  .object({
    code: z.string().optional(),
    message: z.string(),
    path: z.string().optional(),
    line: z.number().int().optional(),
    column: z.number().int().optional(),
  })
  .meta({ id: 'ErrorDetail' });
export type ErrorDetail = z.infer<typeof ErrorDetailSchema>;

/** Every error the API answers, whatever the route: a stable code, a sentence, and the details behind it. */
export const ErrorResponseSchema = z
  .object({
    error_code: z.string().meta({ description: 'Stable code, see src/common/error-codes.ts' }),
    message: z.string(),
    details: z.array(ErrorDetailSchema),
    request_id: z.string().optional(),
  })
  .meta({ id: 'ErrorResponse' });
export type ErrorResponse = z.infer<typeof ErrorResponseSchema>;

/** One problem the engine found in a policy, placed on the line and column of the submitted text. */
export const PolicyIssueSchema = z
  .object({
    code: z.string().meta({ description: 'Stable code, e.g. POLICY_NOT_TERMINATING' }),
    message: z.string(),
    path: z.string().meta({ description: 'Location in the document, e.g. /on_http_request/0/actions/1' }),
    line: z.number().int().meta({ description: '1-based line in the submitted text' }),
    column: z.number().int().meta({ description: '1-based column in the submitted text' }),
    severity: z.enum(['error', 'warning']),
  })
  .meta({ id: 'PolicyIssue' });
export type PolicyIssue = z.infer<typeof PolicyIssueSchema>;
