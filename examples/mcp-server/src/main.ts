// `npm start -w @gatehouse/example-mcp-server`: the example MCP server on PORT (3333) and HOST (127.0.0.1) until
// SIGTERM or SIGINT, which let requests in flight finish before exiting.
import { parseEnv, type McpServerEnv } from './env.js';
import { startMcpServer, TOOL_NAMES } from './server.js';

let env: McpServerEnv;
try {
  env = parseEnv(process.env);
} catch (error) {
  console.error((error as Error).message);
  process.exit(2);
}

const running = await startMcpServer({ port: env.PORT, host: env.HOST });
// Tests and supervisors that start it on PORT=0 read the bound address from this line.
console.log(`example MCP server listening on ${running.url} (tools: ${TOOL_NAMES.join(', ')})`);

let stopping = false;
function shutdown(signal: NodeJS.Signals): void {
  if (stopping) return;
  stopping = true;
  console.log(`example MCP server: ${signal}, finishing requests in flight`);
  running.close().then(
    () => process.exit(0),
    (error: unknown) => {
      console.error('example MCP server: shutdown failed', error);
      process.exit(1);
    },
  );
}
process.once('SIGTERM', shutdown);
process.once('SIGINT', shutdown);
