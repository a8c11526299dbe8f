export {
  createExampleMcpServer,
  MCP_PATH,
  startMcpServer,
  TOOL_NAMES,
  type McpServerOptions,
  type RunningMcpServer,
} from './server.js';
