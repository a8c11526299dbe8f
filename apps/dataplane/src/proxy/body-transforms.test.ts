import { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import type { McpListFilter } from '@gatehouse/traffic-policy';
import {
  BufferedReplaceTransform,
  McpJsonListFilterTransform,
  McpSseListFilterTransform,
  SseReplaceTransform,
} from './body-transforms.js';

async function run(chunks: string[], transform: NodeJS.ReadWriteStream): Promise<string> {
  const output: string[] = [];
  transform.on('data', (chunk: Buffer | string) => output.push(chunk.toString()));
  await pipeline(Readable.from(chunks.map((chunk) => Buffer.from(chunk))), transform);
  return output.join('');
}

describe('SseReplaceTransform', () => {
  it('rewrites data lines of events split across chunks, leaving other fields alone', async () => {
    const transform = new SseReplaceTransform([{ from: /secret/g, to: 'xxx', field: 'data' }]);
    const result = await run(
      ['event: secret\nda', 'ta: a secret\r\n\r\ndata: ', 'more secret\n\n', 'data: tail secret'],
      transform,
    );
    expect(result).toBe('event: secret\ndata: a xxx\r\n\r\ndata: more xxx\n\ndata: tail xxx');
  });

  it('pushes each complete event as soon as it arrives', async () => {
    const transform = new SseReplaceTransform([{ from: /1/g, to: 'one', field: 'data' }]);
    const pushed: string[] = [];
    transform.on('data', (chunk: Buffer) => pushed.push(chunk.toString()));
    transform.write(Buffer.from('data: 1\n\ndata: 2'));
    await new Promise((resolve) => setImmediate(resolve));
    expect(pushed).toEqual(['data: one\n\n']);
    transform.end();
  });
});

describe('BufferedReplaceTransform', () => {
  it('rewrites the whole body', async () => {
    expect(await run(['hel', 'lo wor', 'ld'], new BufferedReplaceTransform([{ from: /o/g, to: '0' }], 100))).toBe(
      'hell0 w0rld',
    );
  });

  it('passes a body over the limit through unchanged', async () => {
    const transform = new BufferedReplaceTransform([{ from: /a/g, to: 'b' }], 4);
    const result = text(Readable.from(['aaa', 'aaa', 'aaa'].map((chunk) => Buffer.from(chunk))).pipe(transform));
    expect(await result).toBe('aaaaaaaaa');
  });
});

/** A JSON-RPC message as these tests read it back. */
type ListMessage = { result: { tools?: unknown[]; resources?: unknown[] } };
const parse = (text: string) => JSON.parse(text) as ListMessage;

describe('MCP list filters', () => {
  const hideDanger: McpListFilter = {
    visible: (_list, item) => item.name !== 'danger' && item.uri !== 'file:///secret',
  };
  const page = (id: number, names: string[], nextCursor?: string) =>
    JSON.stringify({
      jsonrpc: '2.0',
      id,
      result: { tools: names.map((name) => ({ name })), ...(nextCursor === undefined ? {} : { nextCursor }) },
    });

  it('filters each page of a paginated JSON tools/list, keeping the cursor', async () => {
    const first = await run([page(1, ['echo', 'danger'], 'c2')], new McpJsonListFilterTransform([hideDanger], 1024));
    expect(JSON.parse(first)).toEqual({
      jsonrpc: '2.0',
      id: 1,
      result: { tools: [{ name: 'echo' }], nextCursor: 'c2' },
    });
    const second = await run([page(2, ['danger'])], new McpJsonListFilterTransform([hideDanger], 1024));
    expect(parse(second).result.tools).toEqual([]);
  });

  it('filters list results inside a batch answer and resources, leaving other messages byte for byte', async () => {
    const batch = JSON.stringify([
      JSON.parse(page(1, ['danger', 'echo'])),
      { jsonrpc: '2.0', id: 2, result: { resources: [{ uri: 'file:///secret' }, { uri: 'file:///ok' }] } },
    ]);
    const filtered = JSON.parse(
      await run([batch], new McpJsonListFilterTransform([hideDanger], 4096)),
    ) as ListMessage[];
    expect(filtered[0]!.result.tools).toEqual([{ name: 'echo' }]);
    expect(filtered[1]!.result.resources).toEqual([{ uri: 'file:///ok' }]);
    const other = '{"jsonrpc":"2.0", "id":3, "result":{"content":[]}}';
    expect(await run([other], new McpJsonListFilterTransform([hideDanger], 4096))).toBe(other);
  });

  it('fails a JSON list larger than the limit instead of passing it unfiltered', async () => {
    await expect(
      run([page(1, ['danger'.repeat(100)])], new McpJsonListFilterTransform([hideDanger], 64)),
    ).rejects.toThrow(/MCP_RESPONSE_UNFILTERABLE/);
  });

  it('filters an SSE list event split across chunks and multi-line data, keeping its id', async () => {
    const event = page(4, ['danger', 'echo']);
    const result = await run(
      [
        'id: 7\nevent: message\ndata: ',
        event.slice(0, 30),
        event.slice(30),
        '\n\ndata: {"jsonrpc":"2.0","method":"x"}\n\n',
      ],
      new McpSseListFilterTransform([hideDanger]),
    );
    const [first, second] = result.split('\n\n');
    expect(first).toContain('id: 7');
    expect(parse(first!.split('data: ')[1]!).result.tools).toEqual([{ name: 'echo' }]);
    expect(second).toBe('data: {"jsonrpc":"2.0","method":"x"}');
  });
});
