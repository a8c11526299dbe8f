import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Cmd, Copy, DockerfileParser, Env, From, type Instruction } from 'dockerfile-ast';
import { parse } from 'yaml';
import { repositoryRoot } from './support/processes.js';

/**
 * docker-compose.yml and the two Dockerfiles, checked statically: there is no Docker engine on the CI machine, so
 * this is what stops a broken compose file or image from landing. What cannot be checked without an engine (that
 * images build, that containers start) is exercised by walkthrough.test.ts on the same commands and environment.
 */

interface ComposeService {
  image?: string;
  build?: { context?: string; dockerfile?: string } | string;
  command?: string[] | string;
  environment?: Record<string, string | number | boolean | null>;
  ports?: (string | { target: number; published: string | number })[];
  volumes?: (string | { type?: string; source?: string; target: string })[];
  depends_on?: Record<string, { condition?: string }> | string[];
  healthcheck?: { test?: string[] | string; disable?: boolean; interval?: string; start_period?: string };
  restart?: string;
}

interface ComposeFile {
  name?: string;
  services: Record<string, ComposeService>;
  volumes?: Record<string, unknown>;
}

const composeText = readFileSync(join(repositoryRoot, 'docker-compose.yml'), 'utf8');
// Compose resolves YAML merge keys (`<<: *anchor`); so does this parse.
const compose = parse(composeText, { merge: true }) as ComposeFile;
const services = compose.services;
const service = (name: string): ComposeService => {
  const found = services[name];
  if (found === undefined) throw new Error(`docker-compose.yml has no service "${name}"`);
  return found;
};

/**
 * Compose's variable interpolation for the forms this file may use: `${NAME}`, `${NAME:-default}`,
 * `${NAME-default}`, `${NAME:?message}`, `${NAME?message}` and `$$`. Throws, as compose does, when a required
 * variable is missing or the syntax is not one of these.
 */
function interpolate(text: string, variables: Record<string, string>): string {
  return text.replace(/\$(\$|\{([^}]*)\}|[A-Za-z_]?)/g, (whole, _inner: string, braced: string | undefined) => {
    if (whole === '$$') return '$';
    if (braced === undefined) throw new Error(`unsupported interpolation "${whole}" (write \${NAME})`);
    const match = /^([A-Za-z_][A-Za-z0-9_]*)(?:(:?)([-?])(.*))?$/s.exec(braced);
    if (match === null) throw new Error(`invalid interpolation "\${${braced}}"`);
    const [, name = '', colon, operator, argument = ''] = match;
    const value = variables[name];
    const missing = value === undefined || (colon === ':' && value === '');
    if (operator === '?' && missing) throw new Error(`required variable ${name} is missing: ${argument}`);
    if (operator === '-' && missing) return argument;
    return value ?? '';
  });
}

/** Every string in the parsed file: what compose interpolates (comments are not). */
function allStrings(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.flatMap(allStrings);
  if (typeof value === 'object' && value !== null) return Object.values(value).flatMap(allStrings);
  return [];
}

function interpolateAll(variables: Record<string, string>): void {
  for (const text of allStrings(compose)) interpolate(text, variables);
}

function environmentOf(name: string, variables: Record<string, string>): Record<string, string> {
  const environment = service(name).environment ?? {};
  return Object.fromEntries(
    Object.entries(environment).map(([key, value]) => [key, interpolate(String(value ?? ''), variables)]),
  );
}

function commandOf(name: string): string {
  const command = service(name).command;
  return Array.isArray(command) ? command.join(' ') : (command ?? '');
}

function healthcheckOf(name: string): string {
  const test = service(name).healthcheck?.test;
  return Array.isArray(test) ? test.join(' ') : (test ?? '');
}

function buildOf(name: string): { context: string; dockerfile: string } {
  const build = service(name).build;
  if (build === undefined) throw new Error(`service ${name} has no build`);
  if (typeof build === 'string') return { context: build, dockerfile: 'Dockerfile' };
  return { context: build.context ?? '.', dockerfile: build.dockerfile ?? 'Dockerfile' };
}

/** Host ports a service publishes for a container port, after interpolation with defaults. */
function publishedPorts(name: string, containerPort: number): string[] {
  return (service(name).ports ?? []).flatMap((entry) => {
    if (typeof entry === 'object')
      return entry.target === containerPort ? [interpolate(String(entry.published), {})] : [];
    const parts = interpolate(entry, {}).split(':');
    const target = Number(parts.at(-1)?.split('/')[0]);
    return target === containerPort ? [parts.at(-2) ?? String(target)] : [];
  });
}

const dataplaneNames = ['dataplane-1', 'dataplane-2'];
const secrets = {
  GATEHOUSE_DATAPLANE_TOKEN: 'a-long-random-secret-for-this-test',
  GATEHOUSE_SECRETS_KEY: 'AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=',
};

/** Compose's own reading of the file, where a `docker compose` is installed (not on the CI machine). */
const composeVersion = spawnSync('docker', ['compose', 'version'], { encoding: 'utf8' });
const composeUnavailable =
  composeVersion.status === 0
    ? undefined
    : `docker compose is not installed here (\`docker compose version\` ${
        composeVersion.error?.message ??
        `exited ${composeVersion.status}: ${composeVersion.stderr.trim().split('\n')[0]}`
      }); the static checks of this file stand in for it`;

function composeConfig(variables: Record<string, string>): { status: number | null; stderr: string } {
  const environment = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => name !== 'GATEHOUSE_DATAPLANE_TOKEN'),
  ) as Record<string, string>;
  const result = spawnSync(
    'docker',
    ['compose', '--file', join(repositoryRoot, 'docker-compose.yml'), 'config', '-q'],
    {
      env: { ...environment, ...variables },
      encoding: 'utf8',
    },
  );
  return { status: result.status, stderr: result.stderr };
}

describe('docker-compose.yml (the distributed shape)', () => {
  it('is a valid compose file for docker compose itself (docker compose config -q)', (context) => {
    if (composeUnavailable !== undefined) context.skip(composeUnavailable);
    const valid = composeConfig(secrets);
    expect(valid.status, valid.stderr).toBe(0);
    const withoutToken = composeConfig({});
    expect(withoutToken.status).not.toBe(0);
    expect(withoutToken.stderr).toContain('GATEHOUSE_DATAPLANE_TOKEN');
  });

  it('runs exactly postgres, redis, api, worker and two data planes', () => {
    expect(Object.keys(services).sort()).toEqual(['api', 'dataplane-1', 'dataplane-2', 'postgres', 'redis', 'worker']);
  });

  it('uses only variable forms compose understands, and refuses to start without GATEHOUSE_DATAPLANE_TOKEN', () => {
    expect(() => interpolateAll(secrets)).not.toThrow();
    expect(() => interpolateAll({})).toThrow(/required variable GATEHOUSE_DATAPLANE_TOKEN is missing: \S+/);
    expect(() => interpolateAll({ GATEHOUSE_DATAPLANE_TOKEN: '' })).toThrow(/GATEHOUSE_DATAPLANE_TOKEN/);
  });

  it('gives the API, the worker and both data planes the same data-plane token and Redis', () => {
    for (const name of ['api', 'worker', ...dataplaneNames]) {
      const raw = String(service(name).environment?.GATEHOUSE_DATAPLANE_TOKEN ?? '');
      expect(raw, `${name}: the token must be required, not defaulted`).toMatch(
        /^\$\{GATEHOUSE_DATAPLANE_TOKEN:\?.+\}$/,
      );
      const environment = environmentOf(name, secrets);
      expect(environment.GATEHOUSE_DATAPLANE_TOKEN).toBe(secrets.GATEHOUSE_DATAPLANE_TOKEN);
      expect(environment.REDIS_URL).toBe('redis://redis:6379');
    }
  });

  it('postgres: a 16 or 17 image, its data on a named volume, healthy when pg_isready says so', () => {
    const postgres = service('postgres');
    expect(postgres.image).toMatch(/^postgres:(16|17)([.-]|$)/);
    expect(postgres.volumes?.map(String)).toContainEqual(
      expect.stringMatching(/^[a-z0-9-]+:\/var\/lib\/postgresql\/data$/),
    );
    expect(healthcheckOf('postgres')).toContain('pg_isready');
    const environment = environmentOf('postgres', secrets);
    // The API's DATABASE_URL must name the database, user and password postgres is created with.
    const databaseUrl = new URL(environmentOf('api', secrets).DATABASE_URL ?? '');
    expect(databaseUrl.hostname).toBe('postgres');
    expect(databaseUrl.pathname).toBe(`/${environment.POSTGRES_DB}`);
    expect(databaseUrl.username).toBe(environment.POSTGRES_USER);
    expect(decodeURIComponent(databaseUrl.password)).toBe(environment.POSTGRES_PASSWORD);
    expect(postgres.ports ?? [], 'Postgres stays inside the compose network').toEqual([]);
  });

  it('redis: healthy when redis-cli ping answers, with its data on a named volume', () => {
    expect(service('redis').image).toMatch(/^redis:\d/);
    expect(healthcheckOf('redis')).toMatch(/redis-cli.*ping/);
    expect(service('redis').volumes?.map(String)).toContainEqual(expect.stringMatching(/^[a-z0-9-]+:\/data$/));
  });

  it('api: built from apps/api/Dockerfile, migrates before it serves, publishes its port, checks /api/health', () => {
    expect(buildOf('api')).toEqual({ context: '.', dockerfile: 'apps/api/Dockerfile' });
    const command = commandOf('api');
    const migrate = command.indexOf('node apps/api/scripts/db-migrate.mjs');
    const serve = command.indexOf('node apps/api/dist/main.js');
    expect(migrate, command).toBeGreaterThanOrEqual(0);
    expect(serve, command).toBeGreaterThan(migrate);
    // `&&`: the API never starts on a database whose migration failed.
    expect(command.slice(migrate, serve)).toContain('&&');
    const environment = environmentOf('api', secrets);
    expect(publishedPorts('api', Number(environment.API_PORT))).toHaveLength(1);
    expect(healthcheckOf('api')).toContain(`http://127.0.0.1:${environment.API_PORT}/api/health`);
  });

  it('worker: the API image with the worker command, started once the API (which migrates) is healthy', () => {
    expect(service('worker').image).toBe(service('api').image);
    expect(buildOf('worker')).toEqual(buildOf('api'));
    expect(commandOf('worker')).toBe('node --max-semi-space-size=64 apps/api/dist/worker.js');
    expect(service('worker').depends_on).toMatchObject({ api: { condition: 'service_healthy' } });
    expect(environmentOf('worker', secrets).DATABASE_URL).toBe(environmentOf('api', secrets).DATABASE_URL);
  });

  it('two data planes: own traffic ports, own ids and volumes, the API by its service name, /readyz health checks', () => {
    const apiPort = environmentOf('api', secrets).API_PORT;
    const trafficPorts: string[] = [];
    const ids: string[] = [];
    const volumes: string[] = [];
    for (const name of dataplaneNames) {
      expect(buildOf(name)).toEqual({ context: '.', dockerfile: 'apps/dataplane/Dockerfile' });
      const environment = environmentOf(name, secrets);
      expect(environment.GATEHOUSE_API_URL).toBe(`http://api:${apiPort}`);
      expect(environment.DATABASE_URL, 'a data plane never touches Postgres').toBeUndefined();
      const published = publishedPorts(name, Number(environment.DATAPLANE_PORT));
      expect(published, `${name} publishes its traffic port`).toHaveLength(1);
      trafficPorts.push(...published);
      ids.push(environment.DATAPLANE_ID ?? '');
      expect(healthcheckOf(name)).toContain(`http://127.0.0.1:${environment.DATAPLANE_ADMIN_PORT}/readyz`);
      // The admin port binds loopback by default (issue 12): in a container that would make the published port dead,
      // so compose opens it inside the container and publishes it on the host's loopback only.
      expect(environment.DATAPLANE_ADMIN_HOST, `${name} opens its admin port inside the container`).toBe('0.0.0.0');
      const adminMappings = (service(name).ports ?? [])
        .map(String)
        .filter((entry) => entry.endsWith(`:${environment.DATAPLANE_ADMIN_PORT}`));
      expect(adminMappings.length, `${name} publishes its admin port`).toBe(1);
      expect(adminMappings[0], `${name} publishes its admin port on the host's loopback only`).toMatch(
        /^127\.0\.0\.1:/,
      );
      const dataVolume = service(name)
        .volumes?.map(String)
        .find((volume) => volume.endsWith(`:${environment.GATEHOUSE_DATA_DIR}`));
      expect(dataVolume, `${name} keeps its last-known-good config on a volume`).toBeDefined();
      volumes.push(dataVolume!);
      expect(service(name).depends_on).toMatchObject({ api: { condition: 'service_healthy' } });
    }
    expect(new Set(trafficPorts).size).toBe(dataplaneNames.length);
    expect(new Set(ids).size).toBe(dataplaneNames.length);
    expect(ids.every((id) => id !== '')).toBe(true);
    expect(new Set(volumes).size).toBe(dataplaneNames.length);
  });

  it('every service has a health check and a restart policy, and waits for healthy dependencies', () => {
    for (const [name, definition] of Object.entries(services)) {
      expect(definition.healthcheck?.disable, name).not.toBe(true);
      expect(healthcheckOf(name), `${name} has a health check`).not.toBe('');
      expect(['always', 'unless-stopped', 'on-failure'], `${name} restart policy`).toContain(definition.restart);
      const dependsOn = definition.depends_on ?? {};
      expect(Array.isArray(dependsOn), `${name}: depends_on needs conditions, not a bare list`).toBe(false);
      for (const [dependency, condition] of Object.entries(dependsOn)) {
        expect(services[dependency], `${name} depends on an unknown service ${dependency}`).toBeDefined();
        expect(condition, `${name} → ${dependency}`).toEqual({ condition: 'service_healthy' });
        expect(healthcheckOf(dependency), `${dependency} needs a health check to be waited for`).not.toBe('');
      }
    }
    expect(service('api').depends_on).toMatchObject({
      postgres: { condition: 'service_healthy' },
      redis: { condition: 'service_healthy' },
    });
  });

  it('stores everything on named volumes declared at the top level (no bind mounts)', () => {
    const declared = Object.keys(compose.volumes ?? {});
    const used = Object.entries(services).flatMap(([name, definition]) =>
      (definition.volumes ?? []).map((volume) => {
        const source = typeof volume === 'string' ? volume.split(':')[0] : volume.source;
        return { name, source: source ?? '' };
      }),
    );
    expect(used.length).toBeGreaterThanOrEqual(4);
    for (const { name, source } of used) expect(declared, `${name} mounts ${source}`).toContain(source);
    expect(declared.sort()).toEqual([...new Set(used.map(({ source }) => source))].sort());
  });
});

// ---- Dockerfiles ------------------------------------------------------------------------------------------------

interface Stage {
  from: string;
  name: string | undefined;
  instructions: Instruction[];
}

/**
 * A Dockerfile's build stages, read with dockerfile-ast (the parser behind the Dockerfile language server): each FROM
 * starts a stage holding the instructions after it; continuation lines, comments, parser directives and flags such
 * as `--from=` or `--mount=` are the parser's business.
 */
function stagesOf(text: string): Stage[] {
  const stages: Stage[] = [];
  for (const instruction of DockerfileParser.parse(text).getInstructions()) {
    if (instruction instanceof From) {
      stages.push({
        from: instruction.getImage() ?? '',
        name: instruction.getBuildStage() ?? undefined,
        instructions: [],
      });
    } else {
      // ARGs before the first FROM belong to no stage.
      stages.at(-1)?.instructions.push(instruction);
    }
  }
  return stages;
}

function instructionsOf(stage: Stage, keyword: string): Instruction[] {
  return stage.instructions.filter((instruction) => instruction.getKeyword() === keyword);
}

/** The arguments of a stage's instructions of one kind, as text without their flags. */
function arguments_(stage: Stage, keyword: string): string[] {
  return instructionsOf(stage, keyword).map((instruction) => instruction.getArgumentsContent() ?? '');
}

interface CopyInstruction {
  /** The stage named by `--from=`, or undefined for a copy from the build context. */
  from: string | undefined;
  sources: string[];
}

function copiesOf(stage: Stage): CopyInstruction[] {
  return stage.instructions
    .filter((instruction): instruction is Copy => instruction instanceof Copy)
    .map((copy) => ({
      from: copy.getFromFlag()?.getValue() ?? undefined,
      sources: copy
        .getArguments()
        .map((argument) => argument.getValue())
        .slice(0, -1),
    }));
}

/** The manifests of every npm workspace, as paths relative to the root (what `npm ci` needs to find). */
function workspaceManifests(): string[] {
  const patterns = (JSON.parse(readFileSync(join(repositoryRoot, 'package.json'), 'utf8')) as { workspaces: string[] })
    .workspaces;
  return patterns
    .flatMap((pattern) =>
      pattern.endsWith('/*')
        ? readdirSync(join(repositoryRoot, pattern.slice(0, -2)), { withFileTypes: true })
            .filter((entry) => entry.isDirectory())
            .map((entry) => `${pattern.slice(0, -2)}/${entry.name}`)
        : [pattern],
    )
    .filter((directory) => existsSync(join(repositoryRoot, directory, 'package.json')))
    .map((directory) => `${directory}/package.json`)
    .sort();
}

interface WorkspacePackage {
  name: string;
  directory: string;
  dependencies: string[];
}

function workspacePackages(): Map<string, WorkspacePackage> {
  const packages = new Map<string, WorkspacePackage>();
  for (const manifest of workspaceManifests()) {
    const parsed = JSON.parse(readFileSync(join(repositoryRoot, manifest), 'utf8')) as {
      name: string;
      dependencies?: Record<string, string>;
    };
    packages.set(parsed.name, {
      name: parsed.name,
      directory: manifest.replace(/\/package\.json$/, ''),
      dependencies: Object.keys(parsed.dependencies ?? {}),
    });
  }
  return packages;
}

/** The workspace itself and every workspace it needs at run time (production dependencies, transitively). */
function runtimeWorkspaces(name: string): WorkspacePackage[] {
  const packages = workspacePackages();
  const found = new Map<string, WorkspacePackage>();
  const visit = (packageName: string) => {
    const workspace = packages.get(packageName);
    if (workspace === undefined || found.has(packageName)) return;
    found.set(packageName, workspace);
    workspace.dependencies.forEach(visit);
  };
  visit(name);
  return [...found.values()];
}

const images = [
  {
    dockerfile: 'apps/api/Dockerfile',
    workspace: '@gatehouse/api',
    builds: ['@gatehouse/api', '@gatehouse/dashboard'],
    exposes: ['4000'],
    health: '/api/health',
    // What compose and the image run: the image's CMD plus the services' commands.
    entrypoints: ['apps/api/dist/main.js', 'apps/api/dist/worker.js', 'apps/api/scripts/db-migrate.mjs'],
    // Read at run time, not imported: the dashboard the API serves and the migrations db-migrate.mjs applies.
    runtimeFiles: ['apps/dashboard/dist/index.html', 'prisma/migrations', 'prisma/builtin-ip-categories.json'],
    // The control plane keeps its state in Postgres and Redis; the data plane and the embedded root are other images.
    writesData: false,
    notShipped: ['apps/dataplane/dist', 'apps/gatehouse/dist'],
  },
  {
    dockerfile: 'apps/dataplane/Dockerfile',
    workspace: '@gatehouse/dataplane',
    builds: ['@gatehouse/dataplane'],
    exposes: ['8080', '8081'],
    health: '/readyz',
    entrypoints: ['apps/dataplane/dist/main.js'],
    runtimeFiles: [],
    // The last-known-good snapshot, so a restarted data plane serves with the API down.
    writesData: true,
    notShipped: ['apps/api/dist', 'apps/dashboard/dist', 'apps/gatehouse/dist'],
  },
];

describe.each(images)('$dockerfile', (image) => {
  const stages = stagesOf(readFileSync(join(repositoryRoot, image.dockerfile), 'utf8'));
  const runtime = stages.at(-1)!;
  const build = stages.find((stage) => arguments_(stage, 'RUN').some((run) => run.includes('turbo run build')));
  /** What the runtime stage copies from other stages: `source` is relative to /app ('' for all of /app). */
  const runtimeCopies = copiesOf(runtime).flatMap(({ from, sources }) =>
    from === undefined ? [] : sources.map((source) => ({ from, source: source.replace(/^\/app\/?/, '') })),
  );
  /** What a stage holds besides its base image: what it copied from the context, and node_modules if it installed. */
  const contentsOf = (stage: Stage): string[] => [
    ...copiesOf(stage).flatMap(({ from, sources }) => (from === undefined ? sources : [])),
    ...(arguments_(stage, 'RUN').some((run) => /\bnpm ci\b/.test(run)) ? ['node_modules'] : []),
  ];
  const within = (file: string, path: string) => file === path || file.startsWith(`${path}/`);
  const covers = (copy: { from: string; source: string }, file: string): boolean => {
    if (copy.source !== '') return within(file, copy.source);
    const stage = stages.find((candidate) => candidate.name === copy.from);
    if (stage === undefined) return false;
    return stage === build || contentsOf(stage).some((path) => path !== '.' && within(file, path));
  };
  const isCopied = (file: string) => runtimeCopies.some((copy) => covers(copy, file));
  const isCopiedFromBuild = (file: string) =>
    runtimeCopies.some((copy) => copy.from === build?.name && covers(copy, file));
  const runtimeEnvironment = Object.fromEntries(
    instructionsOf(runtime, 'ENV')
      .filter((instruction): instruction is Env => instruction instanceof Env)
      .flatMap((env) => env.getProperties().map((property) => [property.getName(), property.getValue() ?? ''])),
  );

  it('is multi-stage: a build stage runs npm ci and turbo build, the runtime stage is a slim Node image', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    expect(build, 'a stage runs turbo run build').toBeDefined();
    expect(arguments_(build!, 'RUN').some((run) => /\bnpm ci\b/.test(run) && !run.includes('--omit=dev'))).toBe(true);
    const turbo = arguments_(build!, 'RUN').find((run) => run.includes('turbo run build'))!;
    for (const name of image.builds) expect(turbo).toContain(`--filter=${name}`);
    expect(runtime.from).toMatch(/^node:\$\{NODE_VERSION\}-[a-z]+-slim$|^node:\d+(\.\d+)*-[a-z]+-slim$/);
    expect(runtime).not.toBe(build);
  });

  it('installs production dependencies only for the runtime (npm ci --omit=dev for its workspace, or npm prune)', () => {
    const production = stages.flatMap((stage) => arguments_(stage, 'RUN'));
    expect(
      production.some(
        (run) =>
          (/\bnpm ci\b/.test(run) && run.includes('--omit=dev') && run.includes(`--workspace=${image.workspace}`)) ||
          (/\bnpm prune\b/.test(run) && run.includes('--omit=dev')),
      ),
    ).toBe(true);
    // The runtime's node_modules come from that production install, never from the build stage's full one.
    const nodeModulesCopies = runtimeCopies.filter((copy) => covers(copy, 'node_modules/zod/package.json'));
    expect(nodeModulesCopies.length).toBeGreaterThan(0);
    for (const { from } of nodeModulesCopies) expect(from).not.toBe(build?.name);
  });

  it("copies every workspace manifest before each npm ci (npm ci refuses a lockfile whose workspaces it can't find)", () => {
    const manifests = workspaceManifests();
    expect(manifests).toContain('apps/api/package.json');
    for (const stage of stages.filter((candidate) =>
      arguments_(candidate, 'RUN').some((run) => /\bnpm ci\b/.test(run)),
    )) {
      const copied = contentsOf(stage);
      expect(copied, `stage ${stage.name}`).toContain('package-lock.json');
      expect(copied, `stage ${stage.name}`).toContain('package.json');
      for (const manifest of manifests) expect(copied, `stage ${stage.name}`).toContain(manifest);
    }
  });

  it('runs as a non-root user, exposes its ports and has a HEALTHCHECK on the right route', () => {
    const users = arguments_(runtime, 'USER');
    expect(users.length).toBeGreaterThan(0);
    expect(['root', '0', '0:0']).not.toContain(users.at(-1));
    const userIndex = runtime.instructions.findIndex((instruction) => instruction.getKeyword() === 'USER');
    const cmdIndex = runtime.instructions.findIndex((instruction) => instruction.getKeyword() === 'CMD');
    expect(userIndex).toBeLessThan(cmdIndex);
    expect(arguments_(runtime, 'EXPOSE').join(' ').split(/\s+/).sort()).toEqual([...image.exposes].sort());
    const healthcheck = arguments_(runtime, 'HEALTHCHECK');
    expect(healthcheck).toHaveLength(1);
    expect(healthcheck[0]).toMatch(/\bCMD\b/);
    expect(healthcheck[0]).toContain(image.health);
  });

  it('CMD is an exec-form node command on a file the runtime stage copies from the build output', () => {
    const cmd = instructionsOf(runtime, 'CMD').at(-1);
    expect(cmd).toBeInstanceOf(Cmd);
    // Exec form (a JSON array): the process gets SIGTERM itself instead of a shell that does not forward it.
    expect((cmd as Cmd).getOpeningBracket(), 'CMD is a JSON array').not.toBeNull();
    const command = (cmd as Cmd).getJSONStrings().map((part) => part.getJSONValue());
    expect(command[0]).toBe('node');
    expect(image.entrypoints).toContain(command[1]);
  });

  it('copies every file its commands run and read, and each of them exists in the build output', () => {
    for (const file of [...image.entrypoints, ...image.runtimeFiles]) {
      expect(isCopiedFromBuild(file), `${file} is copied from the build stage`).toBe(true);
      expect(existsSync(join(repositoryRoot, file)), `${file} exists (after the build)`).toBe(true);
    }
  });

  it('copies the build output of every workspace the app loads at run time, and nothing of the other apps', () => {
    const needed = runtimeWorkspaces(image.workspace);
    expect(needed.map(({ name }) => name)).toContain('@gatehouse/contracts');
    for (const workspace of needed) {
      expect(isCopiedFromBuild(`${workspace.directory}/dist`), `${workspace.name} dist from the build stage`).toBe(
        true,
      );
      expect(isCopied(`${workspace.directory}/package.json`), `${workspace.name} manifest`).toBe(true);
    }
    for (const path of image.notShipped) expect(isCopied(`${path}/index.js`), `${path} is not shipped`).toBe(false);
  });

  it(
    image.writesData
      ? 'gives the non-root user a writable GATEHOUSE_DATA_DIR'
      : 'has no GATEHOUSE_DATA_DIR: nothing in it writes to disk',
    () => {
      const dataDirectory = runtimeEnvironment.GATEHOUSE_DATA_DIR;
      if (!image.writesData) {
        expect(dataDirectory).toBeUndefined();
        expect(arguments_(runtime, 'RUN').filter((run) => run.includes('chown'))).toEqual([]);
        return;
      }
      expect(dataDirectory).toBeDefined();
      const user = arguments_(runtime, 'USER').at(-1);
      expect(
        arguments_(runtime, 'RUN').some((run) => run.includes(`chown ${user}`) && run.includes(dataDirectory!)),
      ).toBe(true);
    },
  );
});

describe('.dockerignore', () => {
  it('keeps host-built output, dependencies, git data and secrets out of the build context', () => {
    const patterns = readFileSync(join(repositoryRoot, '.dockerignore'), 'utf8')
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line !== '' && !line.startsWith('#'));
    for (const pattern of ['**/node_modules', '**/dist', '.git', '.env']) expect(patterns).toContain(pattern);
    // The lockfile and the manifests must reach the build, or npm ci cannot run.
    for (const needed of ['package-lock.json', 'package.json', '*.json', '**/package.json'])
      expect(patterns).not.toContain(needed);
  });
});
