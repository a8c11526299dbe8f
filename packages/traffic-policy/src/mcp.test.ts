import { describe, expect, it } from 'vitest';
import type { HeaderMap } from './context.js';
import { maxMcpBatchElements } from './limits.js';
import { readMcp } from './mcp.js';

const headers: HeaderMap = new Map();
const read = (text: string) => readMcp(headers, new TextEncoder().encode(text));
const call = '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"danger"}}';

describe('readMcp: bodies a lenient server could run but the gateway cannot judge exactly', () => {
  it.each([
    ['trailing data', `${call} x`],
    ['two messages', `${call}\n${call}`],
    ['a JSON5 trailing comma', '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"danger",},}'],
    ['a comment and single quotes', '{/* c */ \'method\':\'tools/call\',"params":{"name":"danger"}}'],
    ['an unquoted key', '{method:"tools/call",params:{name:"danger"}}'],
    ['an escaped key in invalid JSON', '{"m\\u0065thod":"tools/call"} x'],
    ['a batch with a trailing comma', `[${call},]`],
  ])('refuses %s', (_name, text) => {
    const { facts, malformed } = read(text);
    expect(facts).toBeUndefined();
    expect(malformed).toContain('not valid JSON');
  });

  it.each([
    ['a second method in capitals', '{"jsonrpc":"2.0","id":1,"method":"ping","METHOD":"tools/call"}', 'METHOD'],
    ['Go-style field names', '{"JSONRPC":"2.0","Id":1,"Method":"tools/call","Params":{"Name":"danger"}}', 'JSONRPC'],
    [
      'a second name in params',
      '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"a","Name":"b"}}',
      'Name',
    ],
    ['a long s (ſ folds to s)', '{"jsonrpc":"2.0","id":1,"method":"ping","paramſ":{"name":"danger"}}', 'paramſ'],
    [
      'a Kelvin sign in a ref',
      '{"jsonrpc":"2.0","id":1,"method":"completion/complete","params":{"ref":{"type":"ref/prompt","name":"a","\u212Aind":1,"Type":"x"}}}',
      'Type',
    ],
    ['one element of a batch', `[${call},{"jsonrpc":"2.0","id":2,"Method":"tools/call"}]`, 'Method'],
  ])('refuses %s', (_name, text, variant) => {
    const { facts, malformed } = read(text);
    expect(facts).toBeDefined();
    expect(malformed).toContain(`"${variant}"`);
  });

  it('reads exact messages as before, whatever case is used inside the arguments', () => {
    const { facts, malformed } = read(
      '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"Method":"x","NAME":"y"}}}',
    );
    expect(malformed).toBeUndefined();
    expect(facts).toMatchObject({ kind: 'request', method: 'tools/call', tool: 'echo' });
  });

  it.each([
    ['NDJSON without JSON-RPC members', '{"level":"info"}\n{"level":"warn"}\n'],
    ['a broken document', '{not json'],
    ['a JSON5 array of numbers', '[1, 2,]'],
    ['PascalCase fields of a non-JSON-RPC API', '{"Id":1,"Method":"card"}'],
  ])('leaves %s to the upstream', (_name, text) => {
    expect(read(text)).toEqual({ facts: undefined });
  });
});

describe('readMcp: batch size', () => {
  const batch = (length: number) =>
    JSON.stringify(Array.from({ length }, (_, id) => ({ jsonrpc: '2.0', id, method: 'ping' })));

  it(`judges a batch of ${maxMcpBatchElements} elements and refuses one more before describing any`, () => {
    expect(read(batch(maxMcpBatchElements)).facts?.messages).toHaveLength(maxMcpBatchElements);
    expect(read(batch(maxMcpBatchElements + 1))).toEqual({ facts: undefined, batchTooLarge: true });
  });

  it('leaves a long JSON array that holds no JSON-RPC message to the upstream', () => {
    expect(read(JSON.stringify(Array.from({ length: 5_000 }, (_, index) => index)))).toEqual({ facts: undefined });
  });
});
