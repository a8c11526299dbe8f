import { Select, TextInput, type SelectProps, type TextInputProps } from '@mantine/core';
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
    any: [...searchParameters.values()].some(Boolean),
  };
}

type FilterProps<Props> = Omit<Props, 'value' | 'onChange'> & { name: string };

/** A text filter bound to the URL parameter `name`. */
export function UrlFilterTextInput({ name, ...props }: FilterProps<TextInputProps>) {
  const filters = useUrlFilters();
  return (
    <TextInput
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
