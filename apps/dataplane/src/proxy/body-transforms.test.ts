import { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import { BufferedReplaceTransform, SseReplaceTransform } from './body-transforms.js';

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
