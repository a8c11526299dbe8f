import { MantineProvider } from '@mantine/core';
import { render, screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it, vi } from 'vitest';
import { PolicyProblemsList } from './policy-problems-list';

describe('PolicyProblemsList', () => {
  it('says the policy is valid when nothing is wrong', () => {
    render(
      <MantineProvider>
        <PolicyProblemsList issues={[]} pending={false} onSelect={() => undefined} />
      </MantineProvider>,
    );
    expect(screen.getByText('No problems found. The policy is valid.')).toBeTruthy();
  });

  it('counts errors and warnings, marks server findings, and jumps to a problem when chosen', async () => {
    const onSelect = vi.fn();
    render(
      <MantineProvider>
        <PolicyProblemsList
          pending={false}
          onSelect={onSelect}
          issues={[
            {
              source: 'browser',
              code: 'POLICY_EXPRESSION_INVALID',
              message: 'Invalid expression',
              line: 11,
              column: 11,
              severity: 'error',
            },
            {
              source: 'server',
              code: 'FORWARD_TARGET_UNKNOWN',
              message: 'No such internal endpoint',
              line: 31,
              column: 16,
              severity: 'warning',
            },
          ]}
        />
      </MantineProvider>,
    );
    expect(screen.getByText('1 error, 1 warning')).toBeTruthy();
    expect(screen.getByText('from server')).toBeTruthy();
    await userEvent.click(screen.getByRole('button', { name: /^11:11 Invalid expression/ }));
    expect(onSelect).toHaveBeenCalledWith(11, 11);
  });
});
