import { RE2JS, RE2JSException, RE2JSSyntaxException } from 're2js';
import { maxRegexCacheEntries, maxRegexLength, maxRewrittenTextLength } from './limits.js';
import { CelLimitError } from './cel-cost.js';

/**
 * Every regular expression in a policy (CEL `matches()`, redirect and url-rewrite `from`, the find-replace patterns)
 * goes through here. ngrok evaluates them with Go's RE2, so Gatehouse does too: re2js is a pure-JavaScript port of
 * RE2 that runs in Node and in the browser, matches in time linear in the input (no catastrophic backtracking, so one
 * request cannot freeze the process), and accepts RE2's syntax: `(?i)`, `(?P<name>…)`, `\A`, `\z`, `[[:alpha:]]`.
 * Patterns JavaScript accepts but RE2 does not (look-around, back-references) are refused at save time.
 */

export interface RegexSyntaxError {
  /** What is wrong, as RE2 words it (`missing closing )`, `invalid escape sequence`, …). */
  readonly message: string;
  /** Offset inside the pattern of the fragment RE2 complained about, when it can be located. */
  readonly offset: number;
}

/** A compiled RE2 pattern. Implements `Symbol.replace`, so `text.replace(regex, to)` replaces every match. */
export class PolicyRegex {
  readonly source: string;
  readonly #re: RE2JS;

  private constructor(source: string, re: RE2JS) {
    this.source = source;
    this.#re = re;
  }

  /** Compiles (or returns the cached compile of) `source`; never throws. */
  static compile(source: string): PolicyRegex | RegexSyntaxError {
    const cached = cache.get(source);
    if (cached !== undefined) return cached;
    const compiled = compileUncached(source);
    if (compiled instanceof PolicyRegex) {
      if (cache.size >= maxRegexCacheEntries) {
        const oldest = cache.keys().next().value;
        if (oldest !== undefined) cache.delete(oldest);
      }
      cache.set(source, compiled);
    }
    return compiled;
  }

  /** Whether the pattern matches anywhere in `text` (unanchored, like cel-go's `matches`). */
  test(text: string): boolean {
    // RE2JS.test skips building a Matcher: about a third faster than matcher(text).find().
    return this.#re.test(text);
  }

  /** The first match and its groups (unmatched groups are ''), or null. */
  exec(text: string): string[] | null {
    const matcher = this.#re.matcher(text);
    if (!matcher.find()) return null;
    const groups: string[] = [];
    for (let group = 0; group <= matcher.groupCount(); group++) groups.push(matcher.group(group) ?? '');
    return groups;
  }

  /**
   * Replaces the first match (`all` false) or every match of the pattern in `text` by `replacement`, expanded per
   * match: `$1`…`$99` (and `${1}`) a numbered group, `$name`, `${name}` and `$<name>` a named group (Go's and
   * JavaScript's spellings), `$0`/`$&` the whole match, `$$` a dollar. A reference to a group that does not exist is
   * empty, as in Go. The result is capped (limits.ts) so a replacement cannot multiply a body without bound.
   */
  replace(text: string, replacement: string, all = true): string {
    const matcher = this.#re.matcher(text);
    const names = this.#re.namedGroups();
    let result = '';
    let position = 0;
    let searchFrom = 0;
    while (searchFrom <= text.length && matcher.find(searchFrom)) {
      const start = matcher.start();
      const end = matcher.end();
      result += text.slice(position, start) + expand(replacement, matcher, names);
      if (result.length > maxRewrittenTextLength) {
        throw new CelLimitError(
          `a regular-expression replacement produced more than ${maxRewrittenTextLength} characters`,
        );
      }
      position = end;
      // An empty match advances one code unit so the loop always ends (Go does the same per rune).
      searchFrom = end === start ? end + 1 : end;
      if (!all) break;
    }
    return result + text.slice(position);
  }

  [Symbol.replace](text: string, replacement: string): string {
    return this.replace(text, replacement, true);
  }

  toString(): string {
    return this.source;
  }
}

const cache = new Map<string, PolicyRegex>();

function compileUncached(source: string): PolicyRegex | RegexSyntaxError {
  if (source.length > maxRegexLength) {
    return { message: `the pattern is longer than ${maxRegexLength} characters`, offset: maxRegexLength };
  }
  try {
    return new (PolicyRegex as unknown as new (source: string, re: RE2JS) => PolicyRegex)(
      source,
      RE2JS.compile(source),
    );
  } catch (error) {
    if (error instanceof RE2JSSyntaxException) {
      const fragment = error.getPattern();
      const found = fragment === null || fragment === '' ? -1 : source.indexOf(fragment);
      return { message: error.message.replace(/^error parsing regexp: /, ''), offset: Math.max(found, 0) };
    }
    if (error instanceof RE2JSException) return { message: error.message, offset: 0 };
    return { message: error instanceof Error ? error.message : String(error), offset: 0 };
  }
}

type Matcher = ReturnType<RE2JS['matcher']>;

function expand(template: string, matcher: Matcher, names: Record<string, number>): string {
  if (!template.includes('$')) return template;
  let out = '';
  let index = 0;
  while (index < template.length) {
    const dollar = template.indexOf('$', index);
    if (dollar === -1 || dollar === template.length - 1) {
      out += template.slice(index);
      break;
    }
    out += template.slice(index, dollar);
    const next = template[dollar + 1]!;
    if (next === '$') {
      out += '$';
      index = dollar + 2;
      continue;
    }
    if (next === '&') {
      out += matcher.group(0) ?? '';
      index = dollar + 2;
      continue;
    }
    let name: string | undefined;
    let after = dollar + 1;
    if (next === '{' || next === '<') {
      const close = template.indexOf(next === '{' ? '}' : '>', dollar + 2);
      if (close !== -1) {
        name = template.slice(dollar + 2, close);
        after = close + 1;
      }
    } else {
      const word = /^[A-Za-z0-9_]+/.exec(template.slice(dollar + 1))?.[0];
      if (word !== undefined) {
        // `$12` with fewer than 12 groups is `$1` then "2" (JavaScript's reading; README examples rely on `$1abc`
        // being group 1 followed by text only when no group of that name exists).
        name = /^\d+/.exec(word)?.[0] ?? word;
        after = dollar + 1 + name.length;
      }
    }
    if (name === undefined) {
      out += '$';
      index = dollar + 1;
      continue;
    }
    out += groupText(matcher, names, name);
    index = after;
  }
  return out;
}

function groupText(matcher: Matcher, names: Record<string, number>, name: string): string {
  if (/^\d+$/.test(name)) {
    const group = Number(name);
    if (group <= matcher.groupCount()) return matcher.group(group) ?? '';
    // Two digits that are not a group: the first digit is the group, the rest literal text.
    if (name.length > 1 && Number(name[0]) <= matcher.groupCount()) {
      return (matcher.group(Number(name[0])) ?? '') + name.slice(1);
    }
    return '';
  }
  return Object.hasOwn(names, name) ? (matcher.group(names[name]) ?? '') : '';
}
