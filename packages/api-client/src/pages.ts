// List answers are `{<items>: [...], next_page_uri}` (DESIGN.md §5); these follow them.

/** The cursor (`before_id`, `before`, `before_version`) of a list answer's `next_page_uri`; undefined on the last page. */
export function cursorOf(nextPageUri: string | null | undefined, parameter = 'before_id'): string | undefined {
  if (!nextPageUri) return undefined;
  return new URL(nextPageUri, 'http://gatehouse.invalid').searchParams.get(parameter) ?? undefined;
}

export interface PageWalk<Page extends { next_page_uri: string | null }, Item> {
  /** Fetches one page; `cursor` is undefined for the first. */
  fetchPage: (cursor: string | undefined) => Promise<Page>;
  itemsOf: (page: Page) => readonly Item[];
  /** The query parameter that carries the cursor in `next_page_uri` (default `before_id`). */
  cursorParameter?: string;
}

/** Every item of a list, following `next_page_uri` until it is null. */
export async function collectPages<Page extends { next_page_uri: string | null }, Item>(
  walk: PageWalk<Page, Item>,
): Promise<Item[]> {
  const items: Item[] = [];
  const seen = new Set<string>();
  let cursor: string | undefined;
  for (;;) {
    const page = await walk.fetchPage(cursor);
    items.push(...walk.itemsOf(page));
    cursor = cursorOf(page.next_page_uri, walk.cursorParameter);
    if (cursor === undefined) return items;
    // A server that hands out the same cursor twice would otherwise keep the caller looping forever.
    if (seen.has(cursor)) throw new Error(`the API returned the cursor ${cursor} twice while listing`);
    seen.add(cursor);
  }
}
