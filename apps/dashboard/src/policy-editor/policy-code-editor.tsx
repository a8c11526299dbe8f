import Editor, { type OnMount } from '@monaco-editor/react';
import { Box, Center, Loader, useComputedColorScheme } from '@mantine/core';
import { useCallback, useEffect, useImperativeHandle, useRef, useState, type Ref } from 'react';
import { useQuery } from '@tanstack/react-query';
import { vaultQueries } from '../api/vaults.api';
import { monaco, policyModelPath, setKnownSecrets } from './monaco-environment';
import { toPolicyMarkers, type PolicyIssueLike } from './policy-issue-markers';
import type { RuleLens } from './rule-code-lenses';

export interface PolicyCodeEditorHandle {
  /** Replaces the whole text as one undoable edit and scrolls to `revealLine`. */
  replaceText: (text: string, revealLine: number) => void;
  revealPosition: (line: number, column: number) => void;
}

interface PolicyCodeEditorProps {
  /** Names the Monaco model; the same name keeps undo history across re-renders. */
  modelName: string;
  value: string;
  onChange: (value: string) => void;
  /** Problems found by the engine in the browser, shown as markers as the user types. */
  engineIssues: readonly PolicyIssueLike[];
  /** Problems the API reported on the last save, shown the same way until the text changes. */
  serverIssues: readonly PolicyIssueLike[];
  readOnly?: boolean;
  onSaveShortcut?: () => void;
  height?: number | string;
  /** Per-rule counters shown as code lenses above each rule (rule-code-lenses.ts); none when absent. */
  ruleLenses?: readonly RuleLens[];
  ref?: Ref<PolicyCodeEditorHandle>;
}

const severityOf = { error: monaco.MarkerSeverity.Error, warning: monaco.MarkerSeverity.Warning } as const;

function applyMarkers(model: monaco.editor.ITextModel, owner: string, issues: readonly PolicyIssueLike[]): void {
  const markers = toPolicyMarkers(issues, model.getLineCount(), (line) => model.getLineMaxColumn(line));
  monaco.editor.setModelMarkers(
    model,
    owner,
    markers.map(({ severity, ...marker }) => ({ ...marker, severity: severityOf[severity] })),
  );
}

/** The Monaco editor for a Traffic Policy: YAML schema completion and hover, plus engine and server markers. */
export function PolicyCodeEditor({
  modelName,
  value,
  onChange,
  engineIssues,
  serverIssues,
  readOnly = false,
  onSaveShortcut,
  height = '60vh',
  ruleLenses,
  ref,
}: PolicyCodeEditorProps) {
  const [editor, setEditor] = useState<monaco.editor.IStandaloneCodeEditor | null>(null);
  const colorScheme = useComputedColorScheme('light');
  // Vault and secret names (never values) for completing secrets.get('…', '…'); the editor works without them.
  const vaults = useQuery({ ...vaultQueries.list(), retry: false });
  useEffect(() => {
    const list = Array.isArray(vaults.data) ? vaults.data : [];
    setKnownSecrets(new Map(list.map((vault) => [vault.name, vault.secrets.map((secret) => secret.name)])));
  }, [vaults.data]);
  const saveShortcutRef = useRef(onSaveShortcut);
  useEffect(() => {
    saveShortcutRef.current = onSaveShortcut;
  }, [onSaveShortcut]);

  const handleMount = useCallback<OnMount>((mountedEditor) => {
    mountedEditor.addCommand(monaco.KeyMod.CtrlCmd | monaco.KeyCode.KeyS, () => saveShortcutRef.current?.());
    setEditor(mountedEditor);
  }, []);

  useEffect(() => {
    const model = editor?.getModel();
    if (model) applyMarkers(model, 'gatehouse-engine', engineIssues);
  }, [editor, engineIssues, value]);

  useEffect(() => {
    const model = editor?.getModel();
    if (model) applyMarkers(model, 'gatehouse-server', serverIssues);
  }, [editor, serverIssues, value]);

  // One provider per mounted editor, answering only for its own model; new lenses fire its change event.
  const lensesRef = useRef<readonly RuleLens[]>([]);
  const [lensesChanged] = useState(() => new monaco.Emitter<monaco.languages.CodeLensProvider>());
  useEffect(() => {
    const model = editor?.getModel();
    if (!model) return;
    const registration = monaco.languages.registerCodeLensProvider('yaml', {
      onDidChange: lensesChanged.event,
      provideCodeLenses: (asked) => ({
        lenses:
          asked === model
            ? lensesRef.current.map((lens) => ({
                range: { startLineNumber: lens.line, startColumn: 1, endLineNumber: lens.line, endColumn: 1 },
                id: `${lens.phase}:${lens.ruleIndex}`,
                command: { id: '', title: lens.title },
              }))
            : [],
        dispose: () => undefined,
      }),
    });
    return () => registration.dispose();
  }, [editor, lensesChanged]);
  useEffect(() => {
    lensesRef.current = ruleLenses ?? [];
    lensesChanged.fire(undefined as unknown as monaco.languages.CodeLensProvider);
  }, [ruleLenses, lensesChanged]);

  useImperativeHandle(
    ref,
    () => ({
      replaceText: (text, revealLine) => {
        const model = editor?.getModel();
        if (!editor || !model) return;
        editor.pushUndoStop();
        editor.executeEdits('gatehouse-snippet', [{ range: model.getFullModelRange(), text }]);
        editor.pushUndoStop();
        editor.revealLineInCenter(revealLine);
        editor.setPosition({ lineNumber: revealLine, column: 1 });
        editor.focus();
      },
      revealPosition: (line, column) => {
        if (!editor) return;
        editor.revealLineInCenter(line);
        editor.setPosition({ lineNumber: line, column });
        editor.focus();
      },
    }),
    [editor],
  );

  return (
    <Box
      data-testid="policy-editor"
      style={{ border: '1px solid var(--mantine-color-default-border)', borderRadius: 4 }}
    >
      <Editor
        height={height}
        language="yaml"
        theme={colorScheme === 'dark' ? 'vs-dark' : 'light'}
        path={policyModelPath(modelName)}
        value={value}
        onChange={(next) => onChange(next ?? '')}
        onMount={handleMount}
        loading={
          <Center h={200}>
            <Loader role="progressbar" aria-label="Loading the editor" />
          </Center>
        }
        options={{
          readOnly,
          ariaLabel: 'Traffic Policy (YAML)',
          minimap: { enabled: false },
          fontSize: 13,
          tabSize: 2,
          insertSpaces: true,
          scrollBeyondLastLine: false,
          automaticLayout: true,
          quickSuggestions: { other: true, comments: false, strings: true },
          renderValidationDecorations: 'on',
          fixedOverflowWidgets: true,
          // Hovers open below the line: above it, near the top of the viewport, they slid under the fixed app header.
          hover: { above: false },
          stickyScroll: { enabled: false },
        }}
      />
    </Box>
  );
}
