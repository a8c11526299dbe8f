import { Button, Menu, Text } from '@mantine/core';
import { IconChevronDown, IconWand } from '@tabler/icons-react';
import { policySnippets, type PolicySnippet } from './policy-snippets';

interface SnippetMenuProps {
  onInsert: (snippet: PolicySnippet) => void;
  disabled?: boolean;
}

/** The common recipes, inserted into the policy as a rule of on_http_request. */
export function SnippetMenu({ onInsert, disabled = false }: SnippetMenuProps) {
  return (
    <Menu position="bottom-end" width={360} withinPortal>
      <Menu.Target>
        <Button
          variant="default"
          leftSection={<IconWand size={16} />}
          rightSection={<IconChevronDown size={14} />}
          disabled={disabled}
        >
          Insert recipe
        </Button>
      </Menu.Target>
      <Menu.Dropdown aria-label="Policy recipes">
        {policySnippets.map((snippet) => (
          <Menu.Item key={snippet.id} onClick={() => onInsert(snippet)} data-snippet={snippet.id}>
            <Text size="sm" fw={500}>
              {snippet.title}
            </Text>
            <Text size="xs" c="dimmed">
              {snippet.description}
            </Text>
          </Menu.Item>
        ))}
      </Menu.Dropdown>
    </Menu>
  );
}
