/**
 * The message to show for a failed CEL evaluation: a cel-js error's short `summary` when it has one, else the error's
 * message. Its own module so that the request context and the evaluator's ExpressionFailure can both use it without
 * importing each other (no cycles, type-only ones included).
 */
export function describeError(error: unknown): string {
  const summary = (error as { summary?: unknown } | undefined)?.summary;
  const message = typeof summary === 'string' ? summary : error instanceof Error ? error.message : String(error);
  // `conn.client_ip in <a list only known at runtime>` (vars, json.decode): cel-js finds two `in` overloads and says
  // so in its own terms; the policy author needs the form that works.
  const ambiguous = /^Operator overload 'V in list<V>: bool' overlaps with '(ClientIp|ContentType) in list/.exec(
    message,
  );
  if (ambiguous !== null) {
    const variable = ambiguous[1] === 'ClientIp' ? 'conn.client_ip' : 'req.content_type';
    return `${variable} in a list whose type is only known at runtime is ambiguous: write string(${variable}) in […]`;
  }
  return message;
}
