import { Button, PasswordInput, Text } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { Navigate, useSearchParams } from 'react-router';
import { authQueries, useSignInMutation } from '../api/auth.api';
import { AccountEmailInput, AuthCard } from '../components/auth-card';
import { ServerErrorAlert } from '../forms/server-error-alert';
import { useApiForm } from '../forms/use-api-form';
import { paths, safeNextPath } from '../paths';

export function SignInPage() {
  const [searchParameters] = useSearchParams();
  const nextPath = safeNextPath(searchParameters.get('next'));
  const me = useQuery(authQueries.me());
  const setupStatus = useQuery(authQueries.setupStatus());
  const signIn = useSignInMutation();
  const form = useApiForm({ initialValues: { email: '', password: '' } });

  if (setupStatus.data?.setup_required) return <Navigate to={paths.setup} replace />;
  if (me.data) return <Navigate to={nextPath} replace />;

  const submit = form.submitWith(({ email, password }) => signIn.mutateAsync({ email: email.trim(), password }));

  return (
    <AuthCard title="Sign in to Gatehouse" titleId="sign-in-title" width={400} onSubmit={submit}>
      <ServerErrorAlert problem={form.unplacedProblem} />
      <AccountEmailInput {...form.getInputProps('email')} />
      <PasswordInput label="Password" autoComplete="current-password" required {...form.getInputProps('password')} />
      <Button type="submit" loading={form.submitting} fullWidth>
        Sign in
      </Button>
      <Text size="xs" c="dimmed" ta="center">
        Forgot your password? Ask a Gatehouse administrator to set a new one.
      </Text>
    </AuthCard>
  );
}
