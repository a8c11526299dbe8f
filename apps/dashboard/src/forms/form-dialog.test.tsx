import { ApiError } from '@gatehouse/api-client';
import { TextInput } from '@mantine/core';
import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it, vi } from 'vitest';
import { renderWithProviders } from '../test-render';
import { FormDialog } from './form-dialog';
import { useApiForm } from './use-api-form';

interface InviteValues {
  email: string;
  team: string;
}

/** A dialog as the pages build one: a rule on one field, the API behind `submit`. */
function InviteDialog({
  submit,
  onClose = () => undefined,
}: {
  submit: (values: InviteValues) => Promise<unknown>;
  onClose?: () => void;
}) {
  const form = useApiForm<InviteValues>({
    initialValues: { email: '', team: '' },
    validate: { team: (team) => (team.trim() === '' ? 'Name a team.' : null) },
  });
  return (
    <FormDialog form={form} title="Invite someone" submitLabel="Invite" onSubmit={submit} onClose={onClose}>
      <TextInput label="Email" {...form.getInputProps('email')} data-autofocus />
      <TextInput label="Team" {...form.getInputProps('team')} />
    </FormDialog>
  );
}

function errorOf(input: HTMLElement): string | null {
  const id = input
    .getAttribute('aria-describedby')
    ?.split(' ')
    .find((part) => part.endsWith('-error'));
  return id ? (document.getElementById(id)?.textContent ?? null) : null;
}

describe('FormDialog', () => {
  it('puts an API refusal on the field its detail names, and takes it off when that field changes', async () => {
    const submit = vi.fn(() =>
      Promise.reject(
        new ApiError(400, 'VALIDATION_FAILED', 'The request is invalid', [
          { path: 'email', message: 'Invalid email address' },
        ]),
      ),
    );
    const user = userEvent.setup({ delay: null });
    renderWithProviders(<InviteDialog submit={submit} />);
    const dialog = await screen.findByRole('dialog', { name: 'Invite someone' });
    await user.type(within(dialog).getByRole('textbox', { name: 'Email' }), 'not-an-email');
    await user.type(within(dialog).getByRole('textbox', { name: 'Team' }), 'platform');
    await user.click(within(dialog).getByRole('button', { name: 'Invite' }));

    const email = within(dialog).getByRole('textbox', { name: 'Email' });
    await waitFor(() => expect(errorOf(email)).toBe('Invalid email address'));
    expect(submit).toHaveBeenCalledWith({ email: 'not-an-email', team: 'platform' });
    // Every detail found its field, so there is nothing to say above the buttons.
    expect(within(dialog).queryByRole('alert')).toBeNull();
    // Changing another field leaves the refusal where it is; changing the field takes it off.
    await user.type(within(dialog).getByRole('textbox', { name: 'Team' }), '!');
    expect(errorOf(email)).toBe('Invalid email address');
    await user.type(email, '@example.com');
    expect(errorOf(email)).toBeNull();
  });

  it('says above the buttons what no field can show, with the details that name no field', async () => {
    const submit = () =>
      Promise.reject(new ApiError(409, 'TEAM_FULL', 'The team is full', [{ path: 'seats', message: 'no seat left' }]));
    const user = userEvent.setup({ delay: null });
    renderWithProviders(<InviteDialog submit={submit} />);
    const dialog = await screen.findByRole('dialog', { name: 'Invite someone' });
    await user.type(within(dialog).getByRole('textbox', { name: 'Team' }), 'platform');
    await user.click(within(dialog).getByRole('button', { name: 'Invite' }));
    const alert = await within(dialog).findByRole('alert');
    expect(alert.textContent).toContain('The team is full');
    expect(alert.textContent).toContain('seats: no seat left');
  });

  it('checks its rules before sending, then keeps the problem current as the user types', async () => {
    const submit = vi.fn(() => Promise.resolve());
    const user = userEvent.setup({ delay: null });
    renderWithProviders(<InviteDialog submit={submit} />);
    const dialog = await screen.findByRole('dialog', { name: 'Invite someone' });
    const team = within(dialog).getByRole('textbox', { name: 'Team' });
    // Nothing is flagged before the first try.
    await user.type(team, ' ');
    expect(errorOf(team)).toBeNull();
    await user.click(within(dialog).getByRole('button', { name: 'Invite' }));
    expect(errorOf(team)).toBe('Name a team.');
    expect(submit).not.toHaveBeenCalled();
    await user.type(team, 'x');
    expect(errorOf(team)).toBeNull();
    await user.clear(team);
    expect(errorOf(team)).toBe('Name a team.');
    await user.type(team, 'platform');
    await user.click(within(dialog).getByRole('button', { name: 'Invite' }));
    await waitFor(() => expect(submit).toHaveBeenCalledOnce());
  });

  it('closes on Cancel without sending anything', async () => {
    const submit = vi.fn(() => Promise.resolve());
    const onClose = vi.fn();
    const user = userEvent.setup({ delay: null });
    renderWithProviders(<InviteDialog submit={submit} onClose={onClose} />);
    await user.click(within(await screen.findByRole('dialog')).getByRole('button', { name: 'Cancel' }));
    expect(onClose).toHaveBeenCalledOnce();
    expect(submit).not.toHaveBeenCalled();
  });
});
