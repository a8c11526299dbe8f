import { validatePolicy } from '@gatehouse/traffic-policy';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { defaultCloudPolicy } from '../lib/default-policies';
import { insertSnippet, policySnippets, type PolicySnippet } from './policy-snippets';

function snippetById(id: string): PolicySnippet {
  const snippet = policySnippets.find((candidate) => candidate.id === id);
  if (!snippet) throw new Error(`no snippet ${id}`);
  return snippet;
}

describe('policy snippets', () => {
  it.each(policySnippets.map((snippet) => [snippet.id, snippet] as const))(
    '%s inserted into the default cloud policy still validates',
    (_id, snippet) => {
      const { text } = insertSnippet(defaultCloudPolicy, snippet, parseYaml);
      const result = validatePolicy(text, { endpointType: 'cloud' });
      expect(result.errors).toEqual([]);
    },
  );

  it('puts checks before the existing rules and keeps the comments', () => {
    const { text, firstInsertedLine } = insertSnippet(defaultCloudPolicy, snippetById('require-header'), parseYaml);
    const rules = (parseYaml(text) as { on_http_request: Array<{ name: string }> }).on_http_request;
    expect(rules.map((rule) => rule.name)).toEqual(['Require an Authorization header', 'Welcome']);
    expect(text.startsWith('# Traffic Policy for this endpoint.')).toBe(true);
    expect(text.split('\n')[firstInsertedLine - 1]).toBe('  - name: Require an Authorization header');
  });

  it('puts forward-internal after the existing rules, before the next phase', () => {
    const policy = 'on_http_request:\n  - name: First\n    actions:\n      - type: deny\non_http_response: []\n';
    const { text } = insertSnippet(policy, snippetById('forward-internal'), parseYaml);
    const document = parseYaml(text) as { on_http_request: Array<{ name: string }>; on_http_response: unknown[] };
    expect(document.on_http_request.map((rule) => rule.name)).toEqual(['First', 'Forward to the internal endpoint']);
    expect(document.on_http_response).toEqual([]);
  });

  it('follows the indentation of a compact sequence', () => {
    const policy = 'on_http_request:\n- name: First\n  actions:\n  - type: deny\n';
    const { text } = insertSnippet(policy, snippetById('rate-limit-per-token'), parseYaml);
    const rules = (parseYaml(text) as { on_http_request: Array<{ name: string }> }).on_http_request;
    expect(rules.map((rule) => rule.name)).toEqual(['Rate limit per token', 'First']);
  });

  it('starts the phase when the policy is empty or has an empty flow list', () => {
    for (const policy of ['', 'on_http_request: []\n']) {
      const { text } = insertSnippet(policy, snippetById('forward-internal'), parseYaml);
      expect(validatePolicy(text, { endpointType: 'cloud' }).errors).toEqual([]);
    }
  });

  it('adds the phase when the policy has only other phases', () => {
    const { text } = insertSnippet('on_http_response: []\n', snippetById('require-header'), parseYaml);
    const document = parseYaml(text) as Record<string, unknown>;
    expect(Object.keys(document)).toEqual(['on_http_response', 'on_http_request']);
  });

  it('re-serializes JSON policies', () => {
    const policy = JSON.stringify({ on_http_request: [{ name: 'Last', actions: [{ type: 'deny' }] }] });
    const { text } = insertSnippet(policy, snippetById('require-header'), parseYaml);
    const document = JSON.parse(text) as { on_http_request: Array<{ name: string }> };
    expect(document.on_http_request.map((rule) => rule.name)).toEqual(['Require an Authorization header', 'Last']);
  });

  it('refuses broken JSON with a message that says why', () => {
    expect(() => insertSnippet('{ "on_http_request": [', snippetById('require-header'), parseYaml)).toThrow(
      /JSON syntax/,
    );
  });
});
