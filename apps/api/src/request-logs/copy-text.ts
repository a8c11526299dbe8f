/**
 * Rows as the body of `COPY … FROM STDIN` in Postgres's text format (one line per row, tab between columns, `\N` for
 * null). The request-log insert streams its batch this way instead of one JSON parameter: Postgres then no longer
 * parses a megabytes-long JSON document into jsonb and takes each row back apart (jsonb_to_recordset), which was more
 * than a third of its CPU per event (README, "Request logs").
 */

// The four characters with a meaning in the text format, and NUL, which Postgres text cannot hold at all (one in a
// client's header or MCP tool name failed the whole group's insert on every retry): it becomes U+FFFD, as an
// undecodable byte does. Anything else goes through as is (UTF-8).
const SPECIAL = /[\\\n\r\t\0]/;
const SPECIALS = /[\\\n\r\t\0]/g;
const ESCAPES: Record<string, string> = {
  '\\': '\\\\',
  '\n': '\\n',
  '\r': '\\r',
  '\t': '\\t',
  '\0': '\ufffd',
};

/**
 * JSON text with every `\u0000` escape (a NUL in a string, which jsonb refuses) made `\ufffd`. Only a real escape:
 * its backslash follows an even run of backslashes (none included). A string that holds a backslash and `u0000`
 * literally serializes as `\\u0000` and is kept.
 */
export function jsonWithoutNul(json: string): string {
  return json.includes('\\u0000') ? json.replace(/(?<!\\)((?:\\\\)*)\\u0000/g, '$1\\ufffd') : json;
}

/** JSON has no raw tab, newline or carriage return (it escapes them), so only its backslashes need doubling. */
function jsonCopyText(json: string): string {
  return json.includes('\\') ? json.replace(/\\/g, '\\\\') : json;
}

function escapeText(text: string): string {
  return SPECIAL.test(text) ? text.replace(SPECIALS, (character) => ESCAPES[character]!) : text;
}

/** An array literal (`{"a","b"}`): every element quoted, so commas, braces and spaces in it need no more care. */
function arrayLiteral(values: readonly (string | null)[]): string {
  let literal = '{';
  for (let index = 0; index < values.length; index++) {
    const value = values[index];
    if (index > 0) literal += ',';
    literal +=
      value === null || value === undefined ? 'NULL' : `"${value.replace(/["\\]/g, (character) => `\\${character}`)}"`;
  }
  return `${literal}}`;
}

type Kind = 'text' | 'json' | 'json text' | 'array' | 'boolean';

/**
 * A column's kind from its SQL type; `json text` is a json column whose values arrive serialized already (a string of
 * JSON text without NUL escapes, as jsonWithoutNul leaves it).
 */
function kindOf(type: string): Kind {
  if (type === 'json text') return 'json text';
  if (type === 'jsonb' || type === 'json') return 'json';
  if (type.endsWith('[]')) return 'array';
  if (type === 'boolean') return 'boolean';
  return 'text';
}

/**
 * Encodes rows for one column list; built once per list. A column's value is read from the row's property of the
 * column's name, or from `key` when it has one (a symbol: a value the row carries apart from its named columns).
 */
export class CopyTextEncoder {
  readonly #keys: PropertyKey[];
  readonly #kinds: Kind[];

  constructor(columns: readonly (readonly [name: string, type: string, key?: PropertyKey])[]) {
    this.#keys = columns.map(([name, , key]) => key ?? name);
    this.#kinds = columns.map(([, type]) => kindOf(type));
  }

  /** Absent (undefined) and null values are both written as null. */
  encode(rows: readonly object[]): string {
    const keys = this.#keys;
    const kinds = this.#kinds;
    let text = '';
    for (const row of rows) {
      const record = row as Record<PropertyKey, unknown>;
      for (let index = 0; index < keys.length; index++) {
        const value = record[keys[index]!];
        if (index > 0) text += '\t';
        if (value === null || value === undefined) {
          text += '\\N';
          continue;
        }
        switch (kinds[index]!) {
          case 'json':
            text += jsonCopyText(jsonWithoutNul(JSON.stringify(value)));
            break;
          case 'json text':
            text += jsonCopyText(value as string);
            break;
          case 'array':
            text += escapeText(arrayLiteral(value as (string | null)[]));
            break;
          case 'boolean':
            text += value ? 't' : 'f';
            break;
          case 'text':
            // Numbers and ISO timestamps need no escaping; strings may.
            text += typeof value === 'string' ? escapeText(value) : (value as number).toString();
        }
      }
      text += '\n';
    }
    return text;
  }
}
