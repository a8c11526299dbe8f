import { DiffEditor } from '@monaco-editor/react';
import { Center, Loader, useComputedColorScheme } from '@mantine/core';
import './monaco-environment';

interface PolicyDiffViewerProps {
  original: string;
  modified: string;
  originalName: string;
  modifiedName: string;
}

/** Two policy versions side by side (read-only), changes highlighted. */
export function PolicyDiffViewer({ original, modified, originalName, modifiedName }: PolicyDiffViewerProps) {
  const colorScheme = useComputedColorScheme('light');
  return (
    <div data-testid="policy-diff" style={{ border: '1px solid var(--mantine-color-default-border)', borderRadius: 4 }}>
      <DiffEditor
        height="60vh"
        language="yaml"
        theme={colorScheme === 'dark' ? 'vs-dark' : 'light'}
        original={original}
        modified={modified}
        originalModelPath={`inmemory://gatehouse/diff/${encodeURIComponent(originalName)}.yaml`}
        modifiedModelPath={`inmemory://gatehouse/diff/${encodeURIComponent(modifiedName)}.yaml`}
        // @monaco-editor/react 4.7 disposes the models before the diff widget lets go of them on unmount ("TextModel
        // got disposed before DiffEditorWidget model got reset"). Versions are immutable and small, so their models
        // are kept (one per version path) and reused.
        keepCurrentOriginalModel
        keepCurrentModifiedModel
        loading={
          <Center h={200}>
            <Loader role="progressbar" aria-label="Loading the comparison" />
          </Center>
        }
        options={{
          readOnly: true,
          originalEditable: false,
          // The gutter holds per-change actions (revert, stage) that a read-only comparison has no use for, and its
          // debounced menu update can fire after the editor is disposed on leaving the page, raising "Error:
          // AbstractContextKeyService has been disposed" (microsoft/monaco-editor#4581).
          renderGutterMenu: false,
          renderSideBySide: true,
          minimap: { enabled: false },
          fontSize: 13,
          scrollBeyondLastLine: false,
          automaticLayout: true,
          ariaLabel: `Differences between ${originalName} and ${modifiedName}`,
          originalAriaLabel: `Policy ${originalName} (old)`,
          modifiedAriaLabel: `Policy ${modifiedName} (new)`,
        }}
      />
    </div>
  );
}
