import { z } from 'zod';

export const DEFAULT_PAGE_LIMIT = 50;
export const MAX_PAGE_LIMIT = 500;

/** `limit` and `before_id` of every list route (newest first; pass the last id of a page to get the next). */
export const PageQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(MAX_PAGE_LIMIT).default(DEFAULT_PAGE_LIMIT),
  before_id: z.string().min(1).max(64).optional(),
});

export interface Page<T> {
  items: T[];
  /** null on the last page. */
  nextPageUri: string | null;
}

/**
 * Turns `limit + 1` rows (ordered newest first) into a page and the URI of the next one, keeping the other filters.
 */
export function toPage<T extends { id: string }>(
  rows: T[],
  limit: number,
  basePath: string,
  filters: Record<string, string | number | undefined>,
): Page<T> {
  const items = rows.slice(0, limit);
  const last = items.at(-1);
  if (rows.length <= limit || !last) return { items, nextPageUri: null };
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(filters)) {
    if (value !== undefined && name !== 'before_id') params.set(name, String(value));
  }
  params.set('limit', String(limit));
  params.set('before_id', last.id);
  return { items, nextPageUri: `${basePath}?${params.toString()}` };
}
