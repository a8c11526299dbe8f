import { Alert, Button, Center, Paper, PasswordInput, Stack, Text, TextInput, Title } from '@mantine/core';
import { IconShieldLock } from '@tabler/icons-react';
import { useQuery } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { Navigate, useNavigate } from 'react-router';
import { authQueries, useFirstRunSetupMutation } from '../api/auth.api';
import { describeError } from '../api/request-client';
import { LoadingState } from '../components/query-states';
import { describePasswordProblem, minimumPasswordLength } from '../lib/password-rules';
import { paths } from '../paths';

export function FirstRunSetupPage() {
  const setupStatus = useQuery(authQueries.setupStatus());
  const setup = useFirstRunSetupMutation();
  const navigate = useNavigate();
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [confirmation, setConfirmation] = useState('');
  const [touched, setTouched] = useState(false);

  if (setupStatus.isPending) return <LoadingState label="Checking whether Gatehouse is set up…" />;
  if (setupStatus.data && !setupStatus.data.setup_required) return <Navigate to={paths.signIn} replace />;

  const passwordProblem = describePasswordProblem(password);
  const confirmationProblem = confirmation !== password ? 'The two passwords differ.' : null;

  const submit = (event: FormEvent) => {
    event.preventDefault();
    setTouched(true);
    if (passwordProblem || confirmationProblem) return;
    setup.mutate(
      { email: email.trim(), password },
      { onSuccess: () => void navigate(paths.endpoints, { replace: true }) },
    );
  };

  return (
    <Center mih="100vh" p="md">
      <Paper
        withBorder
        shadow="sm"
        p="xl"
        w={440}
        component="form"
        onSubmit={submit}
        aria-labelledby="setup-title"
        noValidate
      >
        <Stack>
          <Stack gap={4} align="center">
            <IconShieldLock size={36} aria-hidden />
            <Title order={1} size="h3" id="setup-title">
              Welcome to Gatehouse
            </Title>
            <Text c="dimmed" size="sm" ta="center">
              Create the first administrator. You can invite more people afterwards.
            </Text>
          </Stack>
          {setup.isError ? (
            <Alert color="red" role="alert">
              {describeError(setup.error)}
            </Alert>
          ) : null}
          <TextInput
            label="Email"
            type="email"
            autoComplete="username"
            required
            value={email}
            onChange={(event) => setEmail(event.currentTarget.value)}
            autoFocus
          />
          <PasswordInput
            label="Password"
            description={`At least ${minimumPasswordLength} characters`}
            autoComplete="new-password"
            required
            value={password}
            onChange={(event) => setPassword(event.currentTarget.value)}
            error={touched ? passwordProblem : null}
          />
          <PasswordInput
            label="Repeat the password"
            autoComplete="new-password"
            required
            value={confirmation}
            onChange={(event) => setConfirmation(event.currentTarget.value)}
            error={touched ? confirmationProblem : null}
          />
          <Button type="submit" loading={setup.isPending} fullWidth>
            Create administrator
          </Button>
        </Stack>
      </Paper>
    </Center>
  );
}
