import { describe, expect, it } from 'vitest';
import { celCursorAt, secretNameCompletions } from './cel-completion';

const at = (text: string) => {
  const lines = text.split('\n');
  const lineIndex = lines.findIndex((line) => line.includes('|'));
  const line = lines[lineIndex]!;
  const column = line.indexOf('|') + 1;
  lines[lineIndex] = line.replace('|', '');
  return celCursorAt(lines, lineIndex + 1, column);
};

describe('celCursorAt', () => {
  it('finds a block expressions item, quoted or not, and its phase', () => {
    expect(at('on_http_request:\n  - expressions:\n      - "req.|"\n')).toEqual({
      phase: 'on_http_request',
      textBeforeCursor: 'req.',
    });
    expect(
      at('on_http_response:\n  - name: x\n    expressions:\n      - res.status_code == 200\n      - req.|'),
    ).toEqual({ phase: 'on_http_response', textBeforeCursor: 'req.' });
  });

  it('finds inline lists and interpolations', () => {
    expect(at("inbound:\n  - expressions: ['req.method == \"GET\"', 'conn.|']")?.textBeforeCursor).toBe('conn.');
    expect(
      at('on_http_request:\n  - actions:\n      - type: custom-response\n        config:\n          body: "${req.|'),
    ).toEqual({
      phase: 'on_http_request',
      textBeforeCursor: 'req.',
    });
  });

  it('is not fooled by other lists', () => {
    expect(at('on_http_request:\n  - actions:\n      - type: deny\n      - ty|')).toBeNull();
    expect(at('on_http_request:\n  - expressions:\n      - req.method == "GET"\n    actions:\n      - |')).toBeNull();
  });
});

describe('secrets.get name completion', () => {
  const known = new Map([
    ['auth', ['alice', 'bob']],
    ['jwt', ['hmac']],
  ]);
  it('offers vault names in the first argument and that vault secrets in the second', () => {
    expect(secretNameCompletions("secrets.get('a", known)).toEqual({ prefix: 'a', names: ['auth'] });
    expect(secretNameCompletions('secrets.get("', known)).toEqual({ prefix: '', names: ['auth', 'jwt'] });
    expect(secretNameCompletions("x == secrets.get('auth', 'b", known)).toEqual({ prefix: 'b', names: ['bob'] });
    expect(secretNameCompletions("secrets.get('nope', '", known)).toEqual({ prefix: '', names: [] });
    expect(secretNameCompletions('req.url.path', known)).toBeNull();
  });
});
