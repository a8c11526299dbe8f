import { Button, Group, Modal, Stack, Text, type ModalProps } from '@mantine/core';
import type { ReactNode } from 'react';
import { ServerErrorAlert } from './server-error-alert';
import type { ApiForm } from './use-api-form';

interface FormDialogProps<Values extends object> {
  form: ApiForm<Values>;
  title: string;
  submitLabel: string;
  /** Resolves when the API took the form (the dialog usually closes then); a rejection is shown in the dialog. */
  onSubmit: (values: Values) => Promise<unknown>;
  onClose: () => void;
  size?: ModalProps['size'];
  /** The fields; the first with `data-autofocus` gets the focus. */
  children: ReactNode;
}

/** A dialog with one form: its fields, what the API refused that no field shows, Cancel and the submit button. */
export function FormDialog<Values extends object>({
  form,
  title,
  submitLabel,
  onSubmit,
  onClose,
  size,
  children,
}: FormDialogProps<Values>) {
  return (
    <Modal opened onClose={onClose} title={<Text fw={600}>{title}</Text>} size={size}>
      <form onSubmit={form.submitWith(onSubmit)} noValidate>
        <Stack>
          {children}
          <ServerErrorAlert problem={form.unplacedProblem} />
          <Group justify="flex-end">
            <Button variant="default" onClick={onClose}>
              Cancel
            </Button>
            <Button type="submit" loading={form.submitting}>
              {submitLabel}
            </Button>
          </Group>
        </Stack>
      </form>
    </Modal>
  );
}
