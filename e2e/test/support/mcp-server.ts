import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { baseEnvironment, repositoryRoot, startProcess, type ManagedProcess } from './processes.js';

export interface ExampleMcpServer {
  /** `http://127.0.0.1:<port>`: what the internal endpoint's upstream_url names. */
  origin: string;
  process: ManagedProcess;
}

/** examples/mcp-server as its own process, the way the README runs it behind Gatehouse, on a free port. */
export async function startExampleMcpServer(): Promise<ExampleMcpServer> {
  const main = join(repositoryRoot, 'examples/mcp-server/dist/main.js');
  if (!existsSync(main)) throw new Error(`${main} is missing: run npm run build -w @gatehouse/example-mcp-server`);
  const server = startProcess('example-mcp-server', [main], {
    env: { ...baseEnvironment(), PORT: '0', HOST: '127.0.0.1' },
  });
  const [, origin] = await server.waitForLine(/listening on (http:\/\/[^/\s]+)\/mcp/, 30_000);
  return { origin: origin!, process: server };
}
