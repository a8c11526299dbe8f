import { isMap, isScalar, isSeq, LineCounter, parseDocument, Scalar, visit, type Document, type Node } from 'yaml';
import type { PolicyIssue } from './errors.js';
import { maxAliasCount, maxDocumentDepth, maxPolicyTextLength } from './limits.js';

export type DocumentPath = readonly (string | number)[];

export interface SourcePosition {
  line: number;
  column: number;
}

/** The result of `parse`: the plain document plus a way to point any later error at its line and column. */
export interface ParsedPolicy {
  readonly text: string;
  /** The document as plain JavaScript values; `null` for an empty text; `undefined` when it did not parse. */
  readonly document: unknown;
  /** Syntax problems; when any is an error, `document` is undefined. */
  readonly issues: readonly PolicyIssue[];
  /** Position of the value at `path`, or of its key with `target: 'key'`; falls back to the nearest existing ancestor. */
  locate(path: DocumentPath, target?: 'key' | 'value'): SourcePosition;
  /** Position of a character inside the string value at `path` (used to point at a column inside a CEL expression). */
  locateInString(path: DocumentPath, offset: number): SourcePosition;
}

/** Parses YAML or JSON (JSON is read as YAML 1.2, so both give identical positions). Never throws. */
export function parse(text: string): ParsedPolicy {
  if (text.length > maxPolicyTextLength) {
    return unparsed(text, {
      code: 'POLICY_TOO_LARGE',
      message: `The policy is ${text.length} characters long; the limit is ${maxPolicyTextLength}.`,
      path: '',
      line: 1,
      column: 1,
      severity: 'error',
    });
  }
  const lineCounter = new LineCounter();
  let yamlDocument: Document.Parsed;
  try {
    yamlDocument = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  } catch (error) {
    return unparsed(text, parseIssue(`The text could not be parsed: ${describe(error)}`, 1, 1));
  }
  const position = (offset: number): SourcePosition => {
    const { line, col } = lineCounter.linePos(offset);
    return { line, column: col };
  };

  const issues: PolicyIssue[] = [];
  for (const error of yamlDocument.errors) {
    const { line, column } = position(error.pos[0]);
    const message = error.code === 'DUPLICATE_KEY' ? 'A key appears twice in the same map.' : firstLine(error.message);
    issues.push(parseIssue(message, line, column));
  }
  for (const warning of yamlDocument.warnings) {
    if (warning.code !== 'TAG_RESOLVE_FAILED') continue;
    // An unquoted `!expr` is read by YAML as a tag, silently turning the expression into an empty string.
    const { line, column } = position(warning.pos[0]);
    const tag = text.slice(warning.pos[0], warning.pos[1]);
    issues.push(
      parseIssue(`YAML reads ${tag} as a tag: quote expressions that start with "!", e.g. "${tag}".`, line, column),
    );
  }

  if (issues.length === 0) {
    // A list or map used as a key (`? [a]` or `[a]: x`) would be stringified by toJS, with a process warning each time.
    visit(yamlDocument, {
      Pair(_, pair) {
        const key = pair.key as Node | null;
        if (key === null || isScalar(key)) return;
        const { line, column } = position(key.range?.[0] ?? 0);
        issues.push(parseIssue('A key must be a plain string, not a list or a map.', line, column));
        return visit.BREAK;
      },
    });
  }

  let document: unknown;
  if (issues.length === 0) {
    try {
      document = yamlDocument.toJS({ maxAliasCount });
      checkAcyclic(document);
    } catch (error) {
      issues.push(parseIssue(`The document cannot be used: ${describe(error)}`, 1, 1));
      document = undefined;
    }
  }

  const find = (path: DocumentPath): { node: Node | null; key: Node | null; resolvedDepth: number } => {
    let node: Node | null = yamlDocument.contents;
    let key: Node | null = null;
    let depth = 0;
    for (const segment of path) {
      if (isMap(node)) {
        const pair = node.items.find((item) => isScalar(item.key) && String(item.key.value) === String(segment));
        if (pair === undefined) break;
        key = (pair.key as Node | null) ?? null;
        node = (pair.value as Node | null) ?? null;
      } else if (isSeq(node) && typeof segment === 'number') {
        const item = node.items[segment] as Node | undefined;
        if (item === undefined) break;
        key = null;
        node = item;
      } else break;
      depth++;
      if (node === null) break;
    }
    return { node, key, resolvedDepth: depth };
  };

  return {
    text,
    document: issues.some((issue) => issue.severity === 'error') ? undefined : document,
    issues,
    locate(path, target = 'value') {
      const { node, key, resolvedDepth } = find(path);
      // A missing node is reported where its parent starts, which is where the user has to add it.
      const chosen = target === 'key' && resolvedDepth === path.length && key !== null ? key : (node ?? key);
      const offset = chosen?.range?.[0];
      return offset === undefined ? { line: 1, column: 1 } : position(offset);
    },
    locateInString(path, offset) {
      const { node, resolvedDepth } = find(path);
      if (resolvedDepth !== path.length || !isScalar(node) || !node.range) return this.locate(path);
      const start = node.range[0];
      const source = text.slice(start, node.range[1]);
      if (node.type === Scalar.BLOCK_LITERAL || node.type === Scalar.BLOCK_FOLDED) {
        return positionInBlockScalar(text, position(start), lineCounter, String(node.value), offset);
      }
      if (source.includes('\n')) return position(start);
      if (node.type === Scalar.QUOTE_DOUBLE || node.type === Scalar.QUOTE_SINGLE) {
        return position(start + quotedSourceOffset(source, node.type === Scalar.QUOTE_DOUBLE, offset));
      }
      return position(start + offset);
    },
  };
}

/** Block scalars (`|`, `>`) start on the line after their indicator, indented by the first content line's indent. */
function positionInBlockScalar(
  text: string,
  header: SourcePosition,
  lineCounter: LineCounter,
  value: string,
  offset: number,
): SourcePosition {
  const before = value.slice(0, offset);
  const lineIndex = before.split('\n').length - 1;
  const columnInLine = offset - (before.lastIndexOf('\n') + 1);
  const firstContentLineStart = lineCounter.lineStarts[header.line] ?? 0;
  const indent = /^ */.exec(text.slice(firstContentLineStart))?.[0].length ?? 0;
  return { line: header.line + 1 + lineIndex, column: indent + columnInLine + 1 };
}

/**
 * Where the character at `valueOffset` of a quoted scalar's value sits in its source (quotes included): escapes such
 * as `\"` or `''` are longer in the source than in the value, so a plain `1 + offset` drifts left after each one.
 */
function quotedSourceOffset(source: string, double: boolean, valueOffset: number): number {
  let produced = 0;
  let index = 1;
  while (index < source.length - 1 && produced < valueOffset) {
    const character = source[index];
    if (double && character === '\\') {
      const kind = source[index + 1];
      const hexDigits = kind === 'x' ? 2 : kind === 'u' ? 4 : kind === 'U' ? 8 : 0;
      const codePoint = hexDigits === 0 ? 0 : Number.parseInt(source.slice(index + 2, index + 2 + hexDigits), 16);
      produced += codePoint > 0xffff ? 2 : 1;
      index += 2 + hexDigits;
    } else if (!double && character === "'" && source[index + 1] === "'") {
      produced++;
      index += 2;
    } else {
      produced++;
      index++;
    }
  }
  return index;
}

function unparsed(text: string, issue: PolicyIssue): ParsedPolicy {
  const origin = { line: issue.line, column: issue.column };
  return { text, document: undefined, issues: [issue], locate: () => origin, locateInString: () => origin };
}

function parseIssue(message: string, line: number, column: number): PolicyIssue {
  return { code: 'POLICY_PARSE_ERROR', message, path: '', line, column, severity: 'error' };
}

/** Aliases can build cycles (`&a [*a]`) or absurd depth; both would hang or blow the stack of later stages. */
function checkAcyclic(value: unknown): void {
  const ancestors = new Set<unknown>();
  const visit = (current: unknown, depth: number): void => {
    if (current === null || typeof current !== 'object') return;
    if (depth > maxDocumentDepth) throw new Error(`it is nested more than ${maxDocumentDepth} levels deep`);
    if (ancestors.has(current)) throw new Error('an alias refers to one of its own ancestors');
    ancestors.add(current);
    const children = current instanceof Map ? [...current.values()] : Object.values(current);
    for (const child of children) visit(child, depth + 1);
    ancestors.delete(current);
  };
  visit(value, 0);
}

function firstLine(message: string): string {
  return message.split('\n', 1)[0] ?? message;
}

function describe(error: unknown): string {
  return error instanceof Error ? firstLine(error.message) : String(error);
}

/** `/on_http_request/0/actions` — the path format used in issues. */
export function formatPath(path: DocumentPath): string {
  return path.map((segment) => `/${segment}`).join('');
}
