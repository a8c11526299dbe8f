import { Group, Kbd, Modal, Stack, Table, Text } from '@mantine/core';
import { useEffect, useRef } from 'react';
import { useNavigate } from 'react-router';

/** A "g then <key>" navigation shortcut. */
export interface NavigationShortcut {
  key: string;
  to: string;
  label: string;
}

/** Keys typed into a field, the policy editor or a dialog's input are text, never shortcuts. */
function isTyping(target: EventTarget | null): boolean {
  if (!(target instanceof HTMLElement)) return false;
  if (target.isContentEditable) return true;
  if (target.closest('.monaco-editor')) return true;
  const tag = target.tagName;
  if (tag === 'TEXTAREA' || tag === 'SELECT') return true;
  if (tag !== 'INPUT') return false;
  const type = (target as HTMLInputElement).type;
  return !['checkbox', 'radio', 'button', 'submit', 'reset'].includes(type);
}

/** The page's search box: the one marked for the "/" shortcut, else the first search field. */
export function focusSearch(): boolean {
  const search =
    document.querySelector<HTMLInputElement>('[data-shortcut="search"]') ??
    document.querySelector<HTMLInputElement>('main input[type="search"]');
  if (!search) return false;
  search.focus();
  search.select();
  return true;
}

/**
 * The dashboard's keyboard shortcuts: `/` focuses the page's search, `g` then a letter opens a page, `?` opens the
 * list. A second `g`-key must follow within 1.5 s, like GitHub's and Gmail's sequences.
 */
export function useKeyboardShortcuts(shortcuts: readonly NavigationShortcut[], openHelp: () => void): void {
  const navigate = useNavigate();
  const pendingG = useRef<number | null>(null);
  useEffect(() => {
    const onKeyDown = (event: KeyboardEvent) => {
      if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey || isTyping(event.target)) return;
      if (document.querySelector('[role="dialog"][aria-modal="true"]') && event.key !== 'Escape') return;
      const gPressedAt = pendingG.current;
      pendingG.current = null;
      if (gPressedAt !== null && Date.now() - gPressedAt < 1500) {
        const shortcut = shortcuts.find((candidate) => candidate.key === event.key.toLowerCase());
        if (shortcut) {
          event.preventDefault();
          void navigate(shortcut.to);
          return;
        }
      }
      if (event.key === 'g') {
        pendingG.current = Date.now();
      } else if (event.key === '?') {
        event.preventDefault();
        openHelp();
      } else if (event.key === '/') {
        if (focusSearch()) event.preventDefault();
      }
    };
    window.addEventListener('keydown', onKeyDown);
    return () => window.removeEventListener('keydown', onKeyDown);
  }, [navigate, openHelp, shortcuts]);
}

export function KeyboardShortcutsDialog({
  opened,
  onClose,
  shortcuts,
}: {
  opened: boolean;
  onClose: () => void;
  shortcuts: readonly NavigationShortcut[];
}) {
  const rows: Array<{ keys: string[]; label: string }> = [
    { keys: ['/'], label: 'Focus the search on this page' },
    ...shortcuts.map((shortcut) => ({ keys: ['g', shortcut.key], label: `Go to ${shortcut.label}` })),
    { keys: ['?'], label: 'Show this list' },
    { keys: ['Ctrl', 'S'], label: 'Save the policy (in the policy editor, for editors and admins)' },
    { keys: ['Ctrl', 'Space'], label: 'Suggest fields, variables and functions (in the policy editor)' },
  ];
  return (
    <Modal opened={opened} onClose={onClose} title={<Text fw={600}>Keyboard shortcuts</Text>} centered>
      <Stack gap="xs">
        <Table data-testid="shortcut-list">
          <Table.Tbody>
            {rows.map((row) => (
              <Table.Tr key={row.label}>
                <Table.Td w={110}>
                  <Group gap={4} wrap="nowrap">
                    {row.keys.map((key, index) => (
                      <Kbd key={`${key}-${index}`}>{key}</Kbd>
                    ))}
                  </Group>
                </Table.Td>
                <Table.Td>{row.label}</Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
        <Text size="xs" c="dimmed">
          Shortcuts do nothing while you type in a field or the editor. Press g, then the letter.
        </Text>
      </Stack>
    </Modal>
  );
}
