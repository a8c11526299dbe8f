// Monaco is bundled with the dashboard: @monaco-editor/react would otherwise fetch it from a CDN, and no request may
// leave the Gatehouse origin. Importing this module once configures the editor, its workers and the YAML schema.
import { loader } from '@monaco-editor/react';
import { policyTestCasesJsonSchema } from '@gatehouse/contracts';
import { celCompletions, policyEditorJsonSchema, type CelCatalogItem } from '@gatehouse/traffic-policy';
import * as monaco from 'monaco-editor';
import EditorWorker from 'monaco-editor/editor/editor.worker?worker';
import { configureMonacoYaml } from 'monaco-yaml';
import YamlWorker from './yaml.worker?worker';
import { celCursorAt, secretNameCompletions } from './cel-completion';

/** Vault → secret names the signed-in user may see, for completing `secrets.get('…', '…')`; set by the editor. */
let knownSecrets: ReadonlyMap<string, readonly string[]> = new Map();
export function setKnownSecrets(names: ReadonlyMap<string, readonly string[]>): void {
  knownSecrets = names;
}

/** Policy models are named `<anything>.policy.yaml`; the schema below applies to exactly those. */
export function policyModelPath(name: string): string {
  return `inmemory://gatehouse/${encodeURIComponent(name)}.policy.yaml`;
}

/** Test-case models are named `<anything>.tests.yaml`; the contracts' test-case schema applies to those. */
export function policyTestsModelPath(name: string): string {
  return `inmemory://gatehouse/${encodeURIComponent(name)}.tests.yaml`;
}

self.MonacoEnvironment = {
  getWorker(_workerId: string, label: string) {
    if (label === 'yaml') return new YamlWorker();
    return new EditorWorker();
  },
};

// monaco-editor >= 0.56 changed editor.createWebWorker() to take { worker }, while monaco-yaml 5.5.1 (through
// monaco-worker-manager 2.0.1) still calls it with { moduleId, label, createData }. Without this shim the YAML
// language service silently never starts. Same handshake as Monaco's own compatibility helper: 'ignore', then createData.
interface LegacyWorkerOptions {
  label?: string;
  createData?: unknown;
  host?: Record<string, (...args: unknown[]) => unknown>;
  keepIdleModels?: boolean;
  worker?: Worker;
}
const createWebWorkerForYaml = (options: LegacyWorkerOptions) => {
  if (options.worker) return monaco.editor.createWebWorker(options as monaco.editor.IInternalWebWorkerOptions);
  const worker = self.MonacoEnvironment!.getWorker!('workerMain.js', options.label ?? 'yaml') as Worker;
  worker.postMessage('ignore');
  worker.postMessage(options.createData);
  return monaco.editor.createWebWorker({ worker, host: options.host, keepIdleModels: options.keepIdleModels });
};
const monacoForYaml = {
  ...monaco,
  editor: { ...monaco.editor, createWebWorker: createWebWorkerForYaml },
} as unknown as typeof monaco;

// yaml-language-server reads draft-07 style schemas; the engine's schema is 2020-12 but only uses keywords both share.
// Its $schema/$id are dropped so the language service does not try to fetch or reject them. The editor variant lists
// only the actions Gatehouse runs, with one hover listing them all (see policyEditorJsonSchema).
const { $schema: _draft, $id: _id, ...policySchema } = policyEditorJsonSchema();
// The same path for the Tests panel: the one zod shape of a test case (packages/contracts) feeds the API's validation,
// its OpenAPI and this completion/validation. Its `$defs` references resolve as JSON pointers.
const { $schema: _testsDraft, ...testCasesSchema } = policyTestCasesJsonSchema;

configureMonacoYaml(monacoForYaml, {
  enableSchemaRequest: false,
  hover: true,
  completion: true,
  validate: true,
  schemas: [
    {
      uri: 'inmemory://gatehouse/schemas/traffic-policy.json',
      fileMatch: ['**/*.policy.yaml'],
      schema: policySchema,
    },
    {
      uri: 'inmemory://gatehouse/schemas/policy-tests.json',
      fileMatch: ['**/*.tests.yaml'],
      schema: testCasesSchema,
    },
  ],
});

const completionKinds: Record<CelCatalogItem['kind'], monaco.languages.CompletionItemKind> = {
  variable: monaco.languages.CompletionItemKind.Variable,
  field: monaco.languages.CompletionItemKind.Field,
  function: monaco.languages.CompletionItemKind.Function,
  method: monaco.languages.CompletionItemKind.Method,
  macro: monaco.languages.CompletionItemKind.Keyword,
};

// Inside an expression (an `expressions:` item or a `${…}`), completion comes from the engine's CEL catalog — the same
// environment that checks the policy — so every suggestion is something the save will accept, with its docs.
monaco.languages.registerCompletionItemProvider('yaml', {
  triggerCharacters: ['.', "'", '"'],
  provideCompletionItems(model, position) {
    if (!model.uri.path.endsWith('.policy.yaml')) return { suggestions: [] };
    const cursor = celCursorAt(model.getLinesContent(), position.lineNumber, position.column);
    if (cursor === null) return { suggestions: [] };
    const secretNames = secretNameCompletions(cursor.textBeforeCursor, knownSecrets);
    if (secretNames !== null) {
      const nameRange = new monaco.Range(
        position.lineNumber,
        position.column - secretNames.prefix.length,
        position.lineNumber,
        position.column,
      );
      return {
        suggestions: secretNames.names.map((name) => ({
          label: name,
          kind: monaco.languages.CompletionItemKind.Value,
          insertText: name,
          range: nameRange,
        })),
      };
    }
    const { prefix, items } = celCompletions(cursor.textBeforeCursor, cursor.phase);
    const range = new monaco.Range(
      position.lineNumber,
      position.column - prefix.length,
      position.lineNumber,
      position.column,
    );
    return {
      suggestions: items.map((item, index) => {
        const callable = item.kind === 'function' || item.kind === 'method' || item.kind === 'macro';
        const takesNoArguments = callable && item.detail.split('\n').every((signature) => /\(\)/.test(signature));
        return {
          // A plain label: Monaco names a row by its label, so visible extras would not match its accessible name.
          label: item.name,
          kind: completionKinds[item.kind],
          detail: item.detail,
          documentation: { value: item.documentation },
          insertText: callable ? (takesNoArguments ? `${item.name}()` : `${item.name}($0)`) : item.name,
          insertTextRules: callable ? monaco.languages.CompletionItemInsertTextRule.InsertAsSnippet : undefined,
          // Fields first, then variables, functions, methods and macros, each alphabetical.
          sortText: `${['field', 'variable', 'function', 'method', 'macro'].indexOf(item.kind)}${String(index).padStart(4, '0')}`,
          range,
        };
      }),
    };
  },
});

loader.config({ monaco });

export { monaco };
