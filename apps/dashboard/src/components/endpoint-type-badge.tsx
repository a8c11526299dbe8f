import { Badge } from '@mantine/core';
import type { EndpointType } from '../api/endpoints.api';

export function EndpointTypeBadge({ type }: { type: EndpointType }) {
  return (
    <Badge variant="light" color={type === 'cloud' ? 'blue' : type === 'agent' ? 'grape' : 'teal'}>
      {type}
    </Badge>
  );
}
