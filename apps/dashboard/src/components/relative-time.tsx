import { Tooltip } from '@mantine/core';
import { formatAbsoluteTime, formatRelativeTime } from '../lib/format-time';

export function RelativeTime({ timestamp }: { timestamp: string }) {
  return (
    <Tooltip label={formatAbsoluteTime(timestamp)} openDelay={300}>
      <time dateTime={timestamp}>{formatRelativeTime(timestamp)}</time>
    </Tooltip>
  );
}
