// The repository's import rules, checked by `npm run lint:deps` (part of `npm run lint`, so CI runs it):
// no import cycles, type-only imports included, and the package graph in ARCHITECTURE.md — apps import packages,
// never each other, except the one composition root (apps/gatehouse) that starts the control plane and a data plane
// in one process. Imports are judged by where they resolve, so a relative path into another workspace counts too.
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-cycles',
      comment: 'A cycle couples two modules so that neither can be read, tested or moved alone. Break it with a third.',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'apps-do-not-import-apps',
      comment: 'Apps talk through packages (contracts, api-client, runtime) and the network, never through each other.',
      severity: 'error',
      from: { path: '^apps/([^/]+)/', pathNot: '^apps/gatehouse/' },
      to: { path: '^apps/', pathNot: '^apps/$1/' },
    },
    {
      name: 'the-composition-root-imports-the-control-plane-and-the-data-plane-only',
      comment: 'apps/gatehouse composes the API and a data plane; the dashboard it serves is files, not imports.',
      severity: 'error',
      from: { path: '^apps/gatehouse/' },
      to: { path: '^apps/', pathNot: '^apps/(gatehouse|api|dataplane)/' },
    },
    {
      name: 'packages-do-not-import-apps',
      comment: 'Packages are shared by the apps; a package that reaches into an app makes that app a package.',
      severity: 'error',
      from: { path: '^packages/' },
      to: { path: '^apps/' },
    },
    {
      name: 'tests-of-whole-shapes-start-apps-as-processes',
      comment: 'e2e and the examples run the apps as users do (processes, HTTP), never by importing them.',
      severity: 'error',
      from: { path: '^(e2e|examples)/' },
      to: { path: '^apps/' },
    },
  ],
  options: {
    // Type-only imports are edges too: a type cycle is still two files that cannot be understood apart.
    tsPreCompilationDeps: true,
    // Where workspace packages resolve to: their build (apps/x/dist, packages/y/dist). Record the edge, stop there.
    doNotFollow: { path: ['node_modules', '/dist/'] },
    exclude: { path: ['/generated/', '/coverage/', '/output/', '\\.turbo/'] },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'types', 'default'],
      mainFields: ['module', 'main', 'types'],
      extensions: ['.ts', '.tsx', '.mts', '.js', '.mjs', '.cjs', '.json', '.d.ts'],
    },
    reporterOptions: { text: { highlightFocused: true } },
  },
};
