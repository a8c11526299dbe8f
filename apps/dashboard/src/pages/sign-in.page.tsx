import { Alert, Button, Center, Paper, PasswordInput, Stack, Text, TextInput, Title } from '@mantine/core';
import { IconShieldLock } from '@tabler/icons-react';
import { useQuery } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { Navigate, useSearchParams } from 'react-router';
import { authQueries, useSignInMutation } from '../api/auth.api';
import { describeError } from '../api/request-client';
import { paths, safeNextPath } from '../paths';

export function SignInPage() {
  const [searchParameters] = useSearchParams();
  const nextPath = safeNextPath(searchParameters.get('next'));
  const me = useQuery(authQueries.me());
  const setupStatus = useQuery(authQueries.setupStatus());
  const signIn = useSignInMutation();
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');

  if (setupStatus.data?.setup_required) return <Navigate to={paths.setup} replace />;
  if (me.data) return <Navigate to={nextPath} replace />;

  const submit = (event: FormEvent) => {
    event.preventDefault();
    signIn.mutate({ email: email.trim(), password });
  };

  return (
    <Center mih="100vh" p="md">
      <Paper withBorder shadow="sm" p="xl" w={400} component="form" onSubmit={submit} aria-labelledby="sign-in-title">
        <Stack>
          <Stack gap={4} align="center">
            <IconShieldLock size={36} aria-hidden />
            <Title order={1} size="h3" id="sign-in-title">
              Sign in to Gatehouse
            </Title>
          </Stack>
          {signIn.isError ? (
            <Alert color="red" role="alert">
              {describeError(signIn.error)}
            </Alert>
          ) : null}
          <TextInput
            label="Email"
            type="email"
            autoComplete="username"
            required
            value={email}
            onChange={(event) => setEmail(event.currentTarget.value)}
            data-autofocus
            autoFocus
          />
          <PasswordInput
            label="Password"
            autoComplete="current-password"
            required
            value={password}
            onChange={(event) => setPassword(event.currentTarget.value)}
          />
          <Button type="submit" loading={signIn.isPending} fullWidth>
            Sign in
          </Button>
          <Text size="xs" c="dimmed" ta="center">
            Forgot your password? Ask a Gatehouse administrator to set a new one.
          </Text>
        </Stack>
      </Paper>
    </Center>
  );
}
