import { Alert, Badge, Button, Checkbox, Group, Modal, Stack, Text, Textarea, Tooltip } from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { IconDeviceFloppy, IconInfoCircle } from '@tabler/icons-react';
import { useEffect, useMemo, useRef, useState } from 'react';
import { useLocation, useNavigate } from 'react-router';
import type { PolicyTestCase } from '@gatehouse/contracts';
import { parse as parseYaml } from 'yaml';
import { useQuery } from '@tanstack/react-query';
import { endpointQueries } from '../api/endpoints.api';
import { policyVersionQueries, useCreatePolicyVersionMutation } from '../api/policy-versions.api';
import { ApiError } from '@gatehouse/api-client';
import { describeError } from '../api/request-client';
import { UnsavedChangesGuard } from '../components/unsaved-changes-guard';
import { PolicyCodeEditor, type PolicyCodeEditorHandle } from '../policy-editor/policy-code-editor';
import { policyIssuesFromApiError, type PolicyIssueLike } from '../policy-editor/policy-issue-markers';
import { PolicyProblemsList, type LabelledIssue } from '../policy-editor/policy-problems-list';
import { insertSnippet, type PolicySnippet } from '../policy-editor/policy-snippets';
import { SnippetMenu } from '../policy-editor/snippet-menu';
import { ruleLenses } from '../policy-editor/rule-code-lenses';
import { usePolicyValidation } from '../policy-editor/use-policy-validation';
import { PolicyReplayPanel } from '../policy-editor/policy-replay-panel';
import { PolicyShadowPanel } from '../policy-editor/policy-shadow-panel';
import { PolicyTestsPanel } from '../policy-editor/policy-tests-panel';
import { testsToYaml, usePolicyTests } from '../policy-editor/use-policy-tests';
import { useEndpointEditing, useEndpointFromOutlet } from './endpoint-detail.page';

/** Problems the API found when saving, kept with the text they describe so they vanish once the text changes. */
interface ServerFindings {
  text: string;
  issues: PolicyIssueLike[];
}

export function EndpointPolicyPage() {
  const endpoint = useEndpointFromOutlet();
  const { canEdit } = useEndpointEditing(endpoint);
  const savedText = endpoint.traffic_policy ?? '';
  // null = showing the saved text; a string = the user's edits.
  const [draft, setDraft] = useState<string | null>(null);
  const text = draft ?? savedText;
  // The active version's test cases; a new version carries them over unless the panel changed them.
  const activeVersion = useQuery({
    ...policyVersionQueries.detail(endpoint.id, endpoint.policy_version ?? 0),
    enabled: endpoint.policy_version !== null,
  }).data;
  const savedTestsText = useMemo(() => testsToYaml(activeVersion?.tests ?? []), [activeVersion]);
  const [testsDraft, setTestsDraft] = useState<string | null>(null);
  const testsText = testsDraft ?? savedTestsText;
  const testsChanged = testsDraft !== null && testsDraft !== savedTestsText;
  const tests = usePolicyTests(text, testsText, endpoint);
  useAddedTest(endpoint.policy_version === null || activeVersion !== undefined, (added) => {
    const existing = activeVersion?.tests ?? [];
    const names = new Set(existing.map((test) => test.name));
    let name = added.name;
    for (let suffix = 2; names.has(name); suffix++) name = `${added.name} (${suffix})`;
    setTestsDraft(testsToYaml([...existing, { ...added, name }]));
  });
  const failingTests = tests.report?.failed ?? 0;
  const [allowFailingTests, setAllowFailingTests] = useState(false);
  const hasUnsavedChanges = (draft !== null && draft !== savedText) || testsChanged;
  const internalEndpointUrls = useQuery(endpointQueries.internalUrls()).data;
  const validation = usePolicyValidation(text, endpoint.type, internalEndpointUrls, endpoint.url);
  const [serverFindings, setServerFindings] = useState<ServerFindings | null>(null);
  const [saveDialogOpened, setSaveDialogOpened] = useState(false);
  const [message, setMessage] = useState('');
  const editorRef = useRef<PolicyCodeEditorHandle>(null);
  const ruleStats = useQuery({
    ...policyVersionQueries.ruleStats(endpoint.id, endpoint.policy_version ?? 0),
    enabled: endpoint.policy_version !== null,
  }).data;
  const lenses = useMemo(() => ruleLenses(text, ruleStats, savedText, Date.now()), [text, ruleStats, savedText]);
  const createVersion = useCreatePolicyVersionMutation(endpoint.id);

  const serverIssues = useMemo(
    () => (serverFindings && serverFindings.text === text ? serverFindings.issues : []),
    [serverFindings, text],
  );
  const engineIssues = useMemo(
    () => [...validation.errors, ...validation.warnings],
    [validation.errors, validation.warnings],
  );
  const listedIssues = useMemo<LabelledIssue[]>(
    () => [
      ...engineIssues.map((issue) => ({ ...issue, source: 'browser' as const })),
      ...serverIssues.map((issue) => ({ ...issue, source: 'server' as const })),
    ],
    [engineIssues, serverIssues],
  );
  const errorCount = validation.errors.length + serverIssues.length;
  const canSave =
    canEdit && hasUnsavedChanges && errorCount === 0 && !validation.pending && tests.parsed.cases !== null;

  const openSaveDialog = () => {
    if (!canSave) return;
    setSaveDialogOpened(true);
  };

  const save = () => {
    const submittedText = text;
    createVersion.mutate(
      {
        traffic_policy: submittedText,
        message: message.trim(),
        ...(testsChanged && tests.parsed.cases !== null ? { tests: tests.parsed.cases } : {}),
        ...(allowFailingTests ? { allow_failing_tests: true } : {}),
      },
      {
        onSuccess: (version) => {
          setSaveDialogOpened(false);
          setMessage('');
          setDraft(null);
          setTestsDraft(null);
          setAllowFailingTests(false);
          setServerFindings(null);
          notifications.show({
            color: 'green',
            title: `Saved as version ${version.version}`,
            message: version.policy_warnings?.length
              ? `${version.policy_warnings.length} warning(s): ${version.policy_warnings.map((warning) => warning.message).join('; ')}`
              : 'Data planes apply it within moments.',
          });
        },
        onError: (error) => {
          setSaveDialogOpened(false);
          if (error instanceof ApiError && error.status === 400) {
            const issues = policyIssuesFromApiError(error);
            setServerFindings({ text: submittedText, issues });
            // Show the first problem the API found, wherever the editor was scrolled.
            const [firstIssue] = issues;
            if (firstIssue) editorRef.current?.revealPosition(firstIssue.line ?? 1, firstIssue.column ?? 1);
          } else {
            notifications.show({ color: 'red', title: 'The policy was not saved', message: describeError(error) });
          }
        },
      },
    );
  };

  const insertRecipe = (snippet: PolicySnippet) => {
    try {
      const insertion = insertSnippet(text, snippet, parseYaml);
      setDraft(insertion.text);
      editorRef.current?.replaceText(insertion.text, insertion.firstInsertedLine);
    } catch (error) {
      notifications.show({ color: 'red', title: 'Could not insert the recipe', message: describeError(error) });
    }
  };

  return (
    <Stack gap="sm">
      <UnsavedChangesGuard hasUnsavedChanges={hasUnsavedChanges} />
      <Group justify="space-between">
        <Group gap="xs">
          {hasUnsavedChanges ? (
            <Badge color="orange" variant="light" data-testid="unsaved-badge">
              Unsaved changes
            </Badge>
          ) : (
            <Text size="sm" c="dimmed">
              {endpoint.policy_version === null
                ? 'No policy saved yet.'
                : `Showing the active policy, version ${endpoint.policy_version}.`}
            </Text>
          )}
          {!canEdit ? (
            <Badge color="gray" variant="outline">
              Read only
            </Badge>
          ) : null}
        </Group>
        {canEdit ? (
          <Group gap="sm">
            <SnippetMenu onInsert={insertRecipe} />
            {hasUnsavedChanges ? (
              <Button
                variant="subtle"
                color="gray"
                onClick={() => {
                  setDraft(null);
                  setTestsDraft(null);
                  setServerFindings(null);
                }}
              >
                Discard changes
              </Button>
            ) : null}
            <Tooltip
              label={errorCount > 0 ? 'Fix the errors first' : 'No changes to save'}
              disabled={canSave || validation.pending}
            >
              <Button
                leftSection={<IconDeviceFloppy size={16} />}
                onClick={openSaveDialog}
                disabled={!canSave}
                data-disabled-reason={errorCount > 0 ? 'errors' : undefined}
              >
                Save policy
              </Button>
            </Tooltip>
          </Group>
        ) : null}
      </Group>

      {endpoint.type === 'internal' && !text.trim() ? (
        <Alert
          color="blue"
          variant="light"
          icon={<IconInfoCircle />}
          title="No policy: every request goes to the upstream"
        >
          Cloud endpoints that forward here have already run their own policy. Add rules (for example from “Insert
          recipe”) to check requests again before they reach {endpoint.upstream_url ?? 'the upstream'}.
        </Alert>
      ) : null}
      <PolicyCodeEditor
        ref={editorRef}
        modelName={`endpoint-${endpoint.id}`}
        value={text}
        onChange={(next) => setDraft(next)}
        engineIssues={engineIssues}
        serverIssues={serverIssues}
        readOnly={!canEdit}
        onSaveShortcut={openSaveDialog}
        ruleLenses={lenses}
      />
      <PolicyProblemsList
        issues={listedIssues}
        pending={validation.pending}
        onSelect={(line, column) => editorRef.current?.revealPosition(line, column)}
      />
      <PolicyTestsPanel
        modelName={`endpoint-${endpoint.id}`}
        testsText={testsText}
        onChange={setTestsDraft}
        state={tests}
        readOnly={!canEdit}
      />
      <PolicyReplayPanel
        endpointId={endpoint.id}
        text={text}
        disabledReason={
          validation.errors.length > 0 ? 'Fix the errors first' : text.trim() === '' ? 'No policy to replay' : undefined
        }
      />
      {endpoint.type !== 'agent' ? (
        <PolicyShadowPanel
          endpoint={endpoint}
          draft={text}
          canEdit={canEdit}
          draftDisabledReason={
            validation.errors.length > 0 ? 'Fix the errors first' : validation.pending ? 'Checking…' : undefined
          }
        />
      ) : null}
      {canEdit ? (
        <Text size="xs" c="dimmed" data-testid="editor-help">
          Ctrl+Space suggests fields, and inside expressions variables and functions; hover a field for its
          documentation; Ctrl+S (⌘S) saves. In the editor, Tab indents: press Ctrl+M first to make Tab move the focus
          instead.
        </Text>
      ) : (
        <Text size="xs" c="dimmed" data-testid="editor-help">
          Read-only: your role can view this policy but not change it. Hover a field for its documentation.
        </Text>
      )}

      <Modal
        opened={saveDialogOpened}
        onClose={() => setSaveDialogOpened(false)}
        title={<Text fw={600}>Save policy</Text>}
        centered
      >
        <form
          onSubmit={(event) => {
            event.preventDefault();
            save();
          }}
        >
          <Stack>
            <Text size="sm">
              Saving creates version {(endpoint.policy_version ?? 0) + 1} and makes it active on every data plane.
            </Text>
            <Textarea
              label="What changed?"
              placeholder="e.g. Require an Authorization header"
              maxLength={1024}
              autosize
              minRows={2}
              value={message}
              onChange={(event) => setMessage(event.currentTarget.value)}
              data-autofocus
            />
            {failingTests > 0 ? (
              <Alert color="red" variant="light" title={`${failingTests} test${failingTests === 1 ? '' : 's'} fail`}>
                <Checkbox
                  label="Save anyway (the version records the failing result)"
                  checked={allowFailingTests}
                  onChange={(event) => setAllowFailingTests(event.currentTarget.checked)}
                />
              </Alert>
            ) : null}
            <Group justify="flex-end">
              <Button variant="default" onClick={() => setSaveDialogOpened(false)}>
                Cancel
              </Button>
              <Button
                type="submit"
                loading={createVersion.isPending || tests.pending}
                disabled={failingTests > 0 && !allowFailingTests}
              >
                Save version
              </Button>
            </Group>
          </Stack>
        </form>
      </Modal>
    </Stack>
  );
}

/**
 * "Add as test" on a request-log row navigates here with the case in the history state: it is added to the Tests panel
 * once the active version's cases are loaded, and the state is cleared so a reload does not add it twice.
 */
function useAddedTest(ready: boolean, add: (test: PolicyTestCase) => void): void {
  const location = useLocation();
  const navigate = useNavigate();
  const added = (location.state as { addTest?: PolicyTestCase } | null)?.addTest;
  useEffect(() => {
    if (!ready || added === undefined) return;
    add(added);
    void navigate(location.pathname + location.search, { replace: true, state: null });
    // Runs once per arrival with a case; `add` is a new closure each render.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [ready, added]);
}
