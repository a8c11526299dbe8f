import { Button, PasswordInput } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { Navigate, useNavigate } from 'react-router';
import { authQueries, useFirstRunSetupMutation } from '../api/auth.api';
import { AccountEmailInput, AuthCard } from '../components/auth-card';
import { LoadingState } from '../components/query-states';
import { ServerErrorAlert } from '../forms/server-error-alert';
import { useApiForm } from '../forms/use-api-form';
import { describePasswordProblem, minimumPasswordLength } from '../lib/password-rules';
import { paths } from '../paths';

export function FirstRunSetupPage() {
  const setupStatus = useQuery(authQueries.setupStatus());
  const setup = useFirstRunSetupMutation();
  const navigate = useNavigate();
  const form = useApiForm({
    initialValues: { email: '', password: '', confirmation: '' },
    validate: {
      password: describePasswordProblem,
      confirmation: (confirmation, { password }) => (confirmation !== password ? 'The two passwords differ.' : null),
    },
  });

  if (setupStatus.isPending) return <LoadingState label="Checking whether Gatehouse is set up…" />;
  if (setupStatus.data && !setupStatus.data.setup_required) return <Navigate to={paths.signIn} replace />;

  const submit = form.submitWith(async ({ email, password }) => {
    await setup.mutateAsync({ email: email.trim(), password });
    await navigate(paths.endpoints, { replace: true });
  });

  return (
    <AuthCard
      title="Welcome to Gatehouse"
      titleId="setup-title"
      intro="Create the first administrator. You can invite more people afterwards."
      width={440}
      onSubmit={submit}
      noValidate
    >
      <ServerErrorAlert problem={form.unplacedProblem} />
      <AccountEmailInput {...form.getInputProps('email')} />
      <PasswordInput
        label="Password"
        description={`At least ${minimumPasswordLength} characters`}
        autoComplete="new-password"
        required
        {...form.getInputProps('password')}
      />
      <PasswordInput
        label="Repeat the password"
        autoComplete="new-password"
        required
        {...form.getInputProps('confirmation')}
      />
      <Button type="submit" loading={form.submitting} fullWidth>
        Create administrator
      </Button>
    </AuthCard>
  );
}
