import { Anchor } from '@mantine/core';
import { Link } from 'react-router';
import { EmptyState } from '../components/query-states';
import { paths } from '../paths';

export function NotFoundPage() {
  return (
    <EmptyState
      title="Nothing here"
      action={
        <Anchor component={Link} to={paths.endpoints}>
          Go to endpoints
        </Anchor>
      }
    >
      This page does not exist.
    </EmptyState>
  );
}
