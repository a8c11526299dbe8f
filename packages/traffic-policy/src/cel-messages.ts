import { suggest as suggestAny } from './suggestions.js';
import { namespaceTypeNames } from './cel-namespaces.js';

const namespaceNames: ReadonlySet<string> = new Set(namespaceTypeNames.values());

/** Short names allow fewer edits: `foo` is not a typo of `bool`, but `methd` is one of `method`. */
const suggest = (name: string, candidates: readonly string[]) =>
  suggestAny(name, candidates, Math.min(2, Math.floor(name.length / 3)));

/**
 * Turns cel-js's parser and checker wording ("Expected RPAREN, got EOF", "found no matching overload for
 * 'hasReqHeadr(string)'") into sentences a policy author can act on, with a "Did you mean" for near-miss names. The
 * API and the editor both show the engine's validation messages, so both get the same text.
 */

export interface CelNames {
  readonly variables: readonly string[];
  readonly functions: readonly string[];
  readonly methods: readonly string[];
  readonly fields: readonly string[];
}

const tokenText: Readonly<Record<string, string>> = {
  EOF: 'the end of the expression',
  NUMBER: 'a number',
  STRING: 'a string',
  BOOLEAN: 'true/false',
  NULL: 'null',
  IDENTIFIER: 'a name',
  PLUS: "'+'",
  MINUS: "'-'",
  MULTIPLY: "'*'",
  DIVIDE: "'/'",
  MODULO: "'%'",
  EQ: "'=='",
  NE: "'!='",
  LT: "'<'",
  LE: "'<='",
  GT: "'>'",
  GE: "'>='",
  AND: "'&&'",
  OR: "'||'",
  NOT: "'!'",
  IN: "'in'",
  LPAREN: "'('",
  RPAREN: "')'",
  LBRACKET: "'['",
  RBRACKET: "']'",
  LBRACE: "'{'",
  RBRACE: "'}'",
  DOT: "'.'",
  COMMA: "','",
  COLON: "':'",
  QUESTION: "'?'",
  BYTES: 'bytes',
};

const describeToken = (token: string) => tokenText[token] ?? token;

export function explainCelMessage(message: string, names: CelNames): string {
  const expected = /^Expected (\w+), got (\w+)$/.exec(message);
  if (expected !== null) {
    const [, want, got] = expected as unknown as [string, string, string];
    if (got === 'EOF') return `The expression ends before a closing ${describeToken(want)}.`;
    return `Expected ${describeToken(want)} here, but found ${describeToken(got)}.`;
  }
  const unexpectedToken = /^Unexpected token: (\w+)$/.exec(message)?.[1];
  if (unexpectedToken === 'EOF') {
    return 'The expression ends too early: a value is missing after the last operator.';
  }
  if (unexpectedToken !== undefined) return `${capitalize(describeToken(unexpectedToken))} cannot appear here.`;
  const unexpectedCharacter = /^Unexpected character: '?(.+?)'?$/.exec(message)?.[1];
  if (unexpectedCharacter === '=') return "'=' is not an operator in CEL: compare with '=='.";
  if (unexpectedCharacter === ')' || unexpectedCharacter === ']' || unexpectedCharacter === '}') {
    return `There is a '${unexpectedCharacter}' with no matching opening one.`;
  }
  if (unexpectedCharacter !== undefined) return `The character '${unexpectedCharacter}' is not allowed here.`;
  if (message === 'Unterminated string' || message === 'Unterminated triple-quoted string') {
    return 'A string is not closed: add the closing quote.';
  }
  const globalCall = /^found no matching overload for '([A-Za-z_]\w*)\((.*)\)'$/.exec(message);
  if (globalCall !== null) {
    const [, name, argumentTypes] = globalCall as unknown as [string, string, string];
    if (!names.functions.includes(name)) {
      return `Unknown function ${name}().${suggest(name, [...names.functions, ...names.methods])}`;
    }
    return `${name}() cannot be called with (${argumentTypes}).`;
  }
  const methodCall = /^found no matching overload for '(.+)\.([A-Za-z_]\w*)\((.*)\)'$/.exec(message);
  if (methodCall !== null) {
    const [, receiver, name, argumentTypes] = methodCall as unknown as [string, string, string, string];
    // `hash.md5(1)`: a namespace is not a value with methods, so speak of its function.
    if (namespaceNames.has(receiver)) {
      return names.methods.includes(name)
        ? `${receiver}.${name}() cannot take (${argumentTypes}).`
        : `${receiver}.${name}() does not exist.${suggest(name, names.methods)}`;
    }
    if (!names.methods.includes(name)) {
      return `A ${receiver} has no method ${name}().${suggest(name, names.methods)}`;
    }
    return `${name}() on a ${receiver} cannot take (${argumentTypes}).`;
  }
  const unknownVariable = /^Unknown variable: (\w+)$/.exec(message)?.[1];
  if (unknownVariable !== undefined) {
    return `${message}.${suggest(unknownVariable, [...names.variables, ...names.functions])}`;
  }
  const unknownField = /^No such key: (\w+)$/.exec(message)?.[1];
  if (unknownField !== undefined) return `${message}.${suggest(unknownField, names.fields)}`;
  return message;
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
