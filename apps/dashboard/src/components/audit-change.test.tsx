import { screen } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import { renderWithProviders } from '../test-render';
import { AuditChange, changedFields, diffLines } from './audit-change';

describe('audit change', () => {
  it('lists only the fields that changed, nested ones by path', () => {
    expect(
      changedFields(
        { name: 'office', cidrs: ['10.0.0.0/8'], meta: { a: 1, b: 2 } },
        { name: 'office', cidrs: ['10.0.0.0/8', '192.168.0.0/16'], meta: { a: 1, b: 3 } },
      ),
    ).toEqual([
      { path: 'cidrs', before: ['10.0.0.0/8'], after: ['10.0.0.0/8', '192.168.0.0/16'] },
      { path: 'meta.b', before: 2, after: 3 },
    ]);
  });

  it('diffs multi-line text line by line', () => {
    expect(diffLines('a\nb\nc', 'a\nx\nc')).toEqual([
      { kind: 'same', text: 'a' },
      { kind: 'removed', text: 'b' },
      { kind: 'added', text: 'x' },
      { kind: 'same', text: 'c' },
    ]);
  });

  it('shows a policy change as marked lines, not an escaped JSON string', () => {
    renderWithProviders(
      <AuditChange
        before={{ version: 1, source: 'on_http_request:\n  - actions:\n      - type: deny\n' }}
        after={{ version: 2, source: 'on_http_request:\n  - actions:\n      - type: custom-response\n' }}
      />,
    );
    expect(screen.getByText('version')).toBeTruthy();
    const diff = screen.getByTestId('audit-text-diff');
    expect(diff.textContent).not.toContain('\\n');
    expect(diff.querySelector('[data-diff="removed"]')?.textContent).toContain('type: deny');
    expect(diff.querySelector('[data-diff="added"]')?.textContent).toContain('type: custom-response');
  });
});
