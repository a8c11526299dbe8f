import Editor from '@monaco-editor/react';
import { Box, Center, Loader, useComputedColorScheme } from '@mantine/core';
import { policyTestsModelPath } from './monaco-environment';

/**
 * The Tests panel's cases in Monaco: YAML with completion, hover and validation from the contracts' test-case schema
 * (monaco-environment.ts maps `*.tests.yaml` models to it), like the policy editor above it.
 */
export function PolicyTestsCodeEditor({
  modelName,
  value,
  onChange,
  readOnly,
  placeholder,
}: {
  /** Names the Monaco model; the same name keeps undo history across re-renders. */
  modelName: string;
  value: string;
  onChange: (value: string) => void;
  readOnly: boolean;
  /** Shown while there are no cases. */
  placeholder: string;
}) {
  const colorScheme = useComputedColorScheme('light');
  return (
    <Box
      data-testid="policy-tests-editor"
      style={{ border: '1px solid var(--mantine-color-default-border)', borderRadius: 4 }}
    >
      <Editor
        height={240}
        language="yaml"
        theme={colorScheme === 'dark' ? 'vs-dark' : 'light'}
        path={policyTestsModelPath(modelName)}
        value={value}
        onChange={(next) => onChange(next ?? '')}
        loading={
          <Center h={120}>
            <Loader role="progressbar" aria-label="Loading the tests editor" />
          </Center>
        }
        options={{
          readOnly,
          ariaLabel: 'Test cases (YAML)',
          placeholder,
          minimap: { enabled: false },
          fontSize: 13,
          tabSize: 2,
          insertSpaces: true,
          scrollBeyondLastLine: false,
          automaticLayout: true,
          quickSuggestions: { other: true, comments: false, strings: true },
          fixedOverflowWidgets: true,
          hover: { above: false },
          stickyScroll: { enabled: false },
          lineNumbers: 'off',
        }}
      />
    </Box>
  );
}
