import {
  Badge,
  Button,
  Collapse,
  Group,
  Select,
  Stack,
  TextInput,
  type SelectProps,
  type TextInputProps,
} from '@mantine/core';
import { useDisclosure, useMediaQuery } from '@mantine/hooks';
import { IconFilter, IconFilterOff } from '@tabler/icons-react';
import type { ReactNode } from 'react';
import { useSearchParams } from 'react-router';

/** A list page's filters, kept in its URL so a filtered view can be shared and survives a reload. */
export interface UrlFilters {
  /** The filter's text, '' when unset. */
  read: (name: string) => string;
  /** Sets a filter; '' or null removes it. Replaces the history entry: typing is not navigation. */
  write: (name: string, value: string | null) => void;
  /** Removes every filter (the whole query string of the page). */
  clearAll: () => void;
  /** True when any filter is set. */
  any: boolean;
}

export function useUrlFilters(): UrlFilters {
  const [searchParameters, setSearchParameters] = useSearchParams();
  return {
    read: (name) => searchParameters.get(name) ?? '',
    write: (name, value) => {
      const next = new URLSearchParams(searchParameters);
      if (value) next.set(name, value);
      else next.delete(name);
      setSearchParameters(next, { replace: true });
    },
    clearAll: () => setSearchParameters(new URLSearchParams(), { replace: true }),
    // `request` opens one request-log row (paths.requestLog); it filters nothing.
    any: [...searchParameters.entries()].some(([name, value]) => name !== 'request' && value !== ''),
  };
}

type FilterProps<Props> = Omit<Props, 'value' | 'onChange'> & { name: string };

/** A text filter bound to the URL parameter `name`. The `q` filter is the page's search: "/" focuses it. */
export function UrlFilterTextInput({ name, ...props }: FilterProps<TextInputProps>) {
  const filters = useUrlFilters();
  return (
    <TextInput
      {...(name === 'q' ? { 'data-shortcut': 'search', 'aria-keyshortcuts': '/' } : {})}
      {...props}
      value={filters.read(name)}
      onChange={(event) => filters.write(name, event.currentTarget.value)}
    />
  );
}

/** A choice filter bound to the URL parameter `name`; clearing it shows everything again. */
export function UrlFilterSelect({ name, ...props }: FilterProps<SelectProps>) {
  const filters = useUrlFilters();
  return (
    <Select {...props} clearable value={filters.read(name) || null} onChange={(value) => filters.write(name, value)} />
  );
}

/** Which of `names` have a value in the URL, and a way to clear them all at once. */
export function useActiveFilters(names: readonly string[]): { count: number; clear: () => void } {
  const [searchParameters, setSearchParameters] = useSearchParams();
  const count = names.filter((name) => (searchParameters.get(name) ?? '') !== '').length;
  return {
    count,
    clear: () => {
      const next = new URLSearchParams(searchParameters);
      for (const name of names) next.delete(name);
      setSearchParameters(next, { replace: true });
    },
  };
}

/**
 * A list page's filters. Wide screens show them in a row; phones (below Mantine's `sm`) fold them behind a "Filters"
 * button with the number set, so the list is on the first screen. "Clear filters" appears whenever one is set.
 */
export function FilterBar({ names, children }: { names: readonly string[]; children: ReactNode }) {
  const narrow = useMediaQuery('(max-width: 48em)', false, { getInitialValueInEffect: false });
  const [opened, { toggle }] = useDisclosure(false);
  const { count, clear } = useActiveFilters(names);
  const clearButton =
    count > 0 ? (
      <Button variant="subtle" size="xs" leftSection={<IconFilterOff size={14} aria-hidden />} onClick={clear}>
        Clear filters
      </Button>
    ) : null;
  if (!narrow) {
    return (
      <Group align="flex-end" data-testid="filter-bar">
        {children}
        {clearButton}
      </Group>
    );
  }
  return (
    <Stack gap="xs" data-testid="filter-bar">
      <Group gap="xs">
        <Button
          variant="default"
          size="xs"
          leftSection={<IconFilter size={14} aria-hidden />}
          rightSection={
            count > 0 ? (
              <Badge size="xs" circle>
                {count}
              </Badge>
            ) : null
          }
          aria-expanded={opened}
          onClick={toggle}
        >
          Filters
        </Button>
        {clearButton}
      </Group>
      <Collapse expanded={opened}>
        <Stack gap="xs">{children}</Stack>
      </Collapse>
    </Stack>
  );
}
