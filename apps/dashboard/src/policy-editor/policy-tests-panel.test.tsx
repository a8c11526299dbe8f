import { MantineProvider } from '@mantine/core';
import { fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import { useState } from 'react';
import { describe, expect, it, vi } from 'vitest';
import { PolicyTestsPanel } from './policy-tests-panel';
import { parseTestsYaml, testsToYaml, usePolicyTests } from './use-policy-tests';

// Monaco does not run in jsdom: the cases are typed into a textarea with the editor's label (the browser e2e types
// into the real editor).
vi.mock('./policy-tests-code-editor', () => ({
  PolicyTestsCodeEditor: ({ value, onChange }: { value: string; onChange: (value: string) => void }) => (
    <textarea aria-label="Test cases (YAML)" value={value} onChange={(event) => onChange(event.currentTarget.value)} />
  ),
}));

const endpoint = { id: 'ep_1', url: 'https://shop.example.com', type: 'cloud' as const };

const blocking = `on_http_request:
  - name: block admin
    expressions: ["req.url.path.startsWith('/admin')"]
    actions:
      - type: deny
  - actions:
      - type: custom-response
        config: { status_code: 200, body: hello }
`;

const open = `on_http_request:
  - actions:
      - type: custom-response
        config: { status_code: 200, body: hello }
`;

const cases = `- name: admin is blocked
  request: { path: /admin }
  expect: { status: 403, decision: { rule: block admin } }
- name: home says hello
  request: { path: / }
  expect: { body_contains: hello }
`;

/** The page's wiring in small: the policy text and the tests text, both editable. */
function Harness({ initialPolicy }: { initialPolicy: string }) {
  const [policy, setPolicy] = useState(initialPolicy);
  const [tests, setTests] = useState('');
  const state = usePolicyTests(policy, tests, endpoint);
  return (
    <MantineProvider>
      <textarea aria-label="policy" value={policy} onChange={(event) => setPolicy(event.currentTarget.value)} />
      <PolicyTestsPanel testsText={tests} onChange={setTests} state={state} readOnly={false} />
    </MantineProvider>
  );
}

describe('PolicyTestsPanel', () => {
  it('runs the cases in the browser as they are typed and again when the policy changes', async () => {
    render(<Harness initialPolicy={blocking} />);
    fireEvent.change(screen.getByLabelText('Test cases (YAML)'), { target: { value: cases } });
    await waitFor(() => expect(screen.getByTestId('tests-passed').textContent).toBe('2 passed'));
    expect(screen.getByTestId('tests-failed').textContent).toBe('0 failed');

    fireEvent.change(screen.getByLabelText('policy'), { target: { value: open } });
    await waitFor(() => expect(screen.getByTestId('tests-failed').textContent).toBe('1 failed'));
    const failing = screen.getAllByTestId('test-case-result')[0]!;
    expect(within(failing).getByText('FAIL')).toBeTruthy();
    expect(failing.textContent).toContain('status: expected 403, got 200');
    expect(failing.textContent).toContain(
      'decision: expected any action by rule "block admin", got custom-response by rule 0 in on_http_request',
    );
  });

  it('says why tests cannot be read, and runs nothing while the policy has errors', async () => {
    render(<Harness initialPolicy={'on_http_request: [oops'} />);
    fireEvent.change(screen.getByLabelText('Test cases (YAML)'), {
      target: { value: '- name: x\n  request: { pth: / }\n  expect: { status: 200 }\n' },
    });
    await waitFor(() =>
      expect(screen.getByTestId('tests-problems').textContent).toContain('0.request: Unrecognized key: "pth"'),
    );
    fireEvent.change(screen.getByLabelText('Test cases (YAML)'), { target: { value: cases } });
    await waitFor(() => expect(screen.getByText('The policy has errors; fix them to run the tests.')).toBeTruthy());
    expect(screen.queryByTestId('tests-passed')).toBeNull();
  });
});

describe('tests YAML', () => {
  it('round-trips cases and treats an empty editor as no cases', () => {
    const parsed = parseTestsYaml(cases);
    expect(parsed.problems).toEqual([]);
    expect(parseTestsYaml(testsToYaml(parsed.cases!))).toEqual(parsed);
    expect(parseTestsYaml('  \n')).toEqual({ cases: [], problems: [] });
    expect(testsToYaml([])).toBe('');
  });
});
