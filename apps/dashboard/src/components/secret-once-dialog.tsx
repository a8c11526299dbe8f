import { Alert, Button, Code, CopyButton, Group, Modal, Stack, Text } from '@mantine/core';
import { IconCheck, IconCopy } from '@tabler/icons-react';
import type { ReactNode } from 'react';

/**
 * Shows a just-created secret (API key, authtoken) the one time Gatehouse has it in the clear: only its hash is
 * stored. Closing needs the explicit button, so a stray click outside cannot lose it.
 */
export function SecretOnceDialog({
  title,
  secret,
  testId,
  children,
  onClose,
}: {
  title: string;
  secret: string;
  testId: string;
  /** How to use the secret: shown under the warning. */
  children?: ReactNode;
  onClose: () => void;
}) {
  return (
    <Modal opened onClose={onClose} title={<Text fw={600}>{title}</Text>} size="lg" closeOnClickOutside={false}>
      <Stack>
        <Alert color="yellow" title="Copy the secret now">
          This is the only time Gatehouse shows it; only its hash is stored.
        </Alert>
        <Group wrap="nowrap" gap="xs">
          <Code block style={{ flex: 1, wordBreak: 'break-all' }} data-testid={testId}>
            {secret}
          </Code>
          <CopyButton value={secret}>
            {({ copied, copy }) => (
              <Button
                onClick={copy}
                variant={copied ? 'light' : 'filled'}
                color={copied ? 'green' : undefined}
                leftSection={copied ? <IconCheck size={16} /> : <IconCopy size={16} />}
              >
                {copied ? 'Copied' : 'Copy'}
              </Button>
            )}
          </CopyButton>
        </Group>
        {children}
        <Group justify="flex-end">
          <Button onClick={onClose}>I have stored it</Button>
        </Group>
      </Stack>
    </Modal>
  );
}
