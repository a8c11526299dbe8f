import { Center, Paper, Stack, Text, TextInput, Title, type TextInputProps } from '@mantine/core';
import { IconShieldLock } from '@tabler/icons-react';
import type { FormEventHandler, ReactNode } from 'react';

interface AuthCardProps {
  /** The heading, which also names the form. */
  title: string;
  titleId: string;
  intro?: string;
  width: number;
  onSubmit: FormEventHandler<HTMLFormElement>;
  /** Leave the browser's own checks (required, email) off when the form checks its fields itself. */
  noValidate?: boolean;
  children: ReactNode;
}

/** The one form of a page shown before sign-in (first-run setup, sign-in), alone in the middle of the screen. */
export function AuthCard({ title, titleId, intro, width, onSubmit, noValidate, children }: AuthCardProps) {
  return (
    <Center mih="100vh" p="md">
      <Paper
        withBorder
        shadow="sm"
        p="xl"
        w={width}
        component="form"
        onSubmit={onSubmit}
        aria-labelledby={titleId}
        noValidate={noValidate}
      >
        <Stack>
          <Stack gap={4} align="center">
            <IconShieldLock size={36} aria-hidden />
            <Title order={1} size="h3" id={titleId}>
              {title}
            </Title>
            {intro ? (
              <Text c="dimmed" size="sm" ta="center">
                {intro}
              </Text>
            ) : null}
          </Stack>
          {children}
        </Stack>
      </Paper>
    </Center>
  );
}

/** The account's email, first and focused on both forms; the browser offers the saved username for it. */
export function AccountEmailInput(props: TextInputProps) {
  return <TextInput label="Email" type="email" autoComplete="username" required {...props} data-autofocus autoFocus />;
}
