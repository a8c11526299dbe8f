import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../src/index.js';

function capture(): { stream: PassThrough; lines: () => Record<string, unknown>[] } {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
  return {
    stream,
    lines: () =>
      text
        .split('\n')
        .filter((line) => line !== '')
        .map((line) => JSON.parse(line) as Record<string, unknown>),
  };
}

describe('createLogger', () => {
  it('writes JSON lines naming the service, with RFC 3339 timestamps, at the level asked for', () => {
    const output = capture();
    const logger = createLogger('gatehouse-test', 'info', output.stream);
    logger.debug('hidden');
    logger.info({ port: 4000 }, 'listening');
    const [line, ...rest] = output.lines();
    expect(rest).toEqual([]);
    expect(line).toMatchObject({ service: 'gatehouse-test', msg: 'listening', port: 4000, level: 30 });
    expect(String(line?.time)).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
  });

  it('redacts secret header values wherever a logged object carries headers', () => {
    const output = capture();
    const logger = createLogger('gatehouse-test', 'info', output.stream);
    logger.info(
      {
        headers: { authorization: 'Bearer top-secret', accept: 'text/html' },
        req: { headers: { cookie: 'session=top-secret', 'proxy-authorization': 'Basic top-secret' } },
        res: { headers: { 'set-cookie': 'session=top-secret' } },
      },
      'request',
    );
    const [line] = output.lines();
    expect(JSON.stringify(line)).not.toContain('top-secret');
    expect(line).toMatchObject({
      headers: { authorization: '[REDACTED]', accept: 'text/html' },
      req: { headers: { cookie: '[REDACTED]', 'proxy-authorization': '[REDACTED]' } },
      res: { headers: { 'set-cookie': '[REDACTED]' } },
    });
  });
});
