const relativeFormatter = new Intl.RelativeTimeFormat('en', { numeric: 'auto' });
const absoluteFormatter = new Intl.DateTimeFormat('en', { dateStyle: 'medium', timeStyle: 'medium' });

const steps: Array<[Intl.RelativeTimeFormatUnit, number]> = [
  ['second', 60],
  ['minute', 60],
  ['hour', 24],
  ['day', 30],
  ['month', 12],
  ['year', Number.POSITIVE_INFINITY],
];

/** "3 minutes ago" style text for a timestamp, relative to `now`. */
export function formatRelativeTime(timestamp: string, now: Date = new Date()): string {
  let amount = (new Date(timestamp).getTime() - now.getTime()) / 1000;
  for (const [unit, size] of steps) {
    if (Math.abs(amount) < size) return relativeFormatter.format(Math.round(amount), unit);
    amount /= size;
  }
  return absoluteFormatter.format(new Date(timestamp));
}

export function formatAbsoluteTime(timestamp: string): string {
  return absoluteFormatter.format(new Date(timestamp));
}
