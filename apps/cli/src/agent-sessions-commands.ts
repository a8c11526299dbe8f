// agent-sessions list: the gatehouse-agent processes connected to the gateway (or that were), with what they serve.
import { ExitCode, UsageError } from './cli-errors.js';
import type { CommandContext, CommandSpec } from './command.js';
import type { AgentSession } from './gatehouse-api.js';
import { printJson, printLines, renderTable } from './output.js';

const dataplanesOf = (session: AgentSession) =>
  session.dataplanes.length === 0 ? '-' : session.dataplanes.map((dataplane) => dataplane.id).join(', ');
const endpointsOf = (session: AgentSession) =>
  session.endpoints.length === 0 ? '-' : session.endpoints.map((endpoint) => endpoint.url).join(', ');
const statusOf = (session: AgentSession) =>
  session.status === 'ended' ? `ended ${session.ended_at ?? ''} (${session.end_reason ?? '?'})` : session.status;

async function runList(context: CommandContext): Promise<number> {
  const live = context.flag('live');
  const ended = context.flag('ended');
  if (live && ended) throw new UsageError('give --live or --ended, not both', 'agent-sessions list');
  const authtoken = context.string('authtoken');
  const client = await context.client();
  const sessions = await client.listAgentSessions({
    ...(live ? { live: 'true' } : ended ? { live: 'false' } : {}),
    ...(authtoken === undefined ? {} : { authtoken_id: authtoken }),
  });
  if (context.json) {
    printJson(context.io, { agent_sessions: sessions });
    return ExitCode.OK;
  }
  if (sessions.length === 0) {
    context.io.stdout('No agent sessions. Start gatehouse-agent with an authtoken (gatehouse authtokens create).\n');
    return ExitCode.OK;
  }
  printLines(
    context.io.stdout,
    renderTable(
      ['ID', 'STATUS', 'HOST', 'ADDRESS', 'VERSION', 'DATA PLANES', 'ENDPOINTS', 'STARTED'],
      sessions.map((session) => [
        session.id,
        statusOf(session),
        session.hostname,
        session.remote_address,
        session.agent_version,
        dataplanesOf(session),
        endpointsOf(session),
        session.started_at,
      ]),
    ),
  );
  return ExitCode.OK;
}

export const agentSessionsCommands: CommandSpec[] = [
  {
    name: 'agent-sessions list',
    summary: 'list agent sessions (all pages), newest first, with their data planes and endpoints',
    usage: 'gatehouse agent-sessions list [--live | --ended] [--authtoken ID] [--json]',
    options: {
      live: { type: 'boolean', description: 'only sessions that have not ended' },
      ended: { type: 'boolean', description: 'only ended sessions' },
      authtoken: { type: 'string', value: 'ID', description: 'only sessions of this authtoken (atk_…)' },
    },
    positionals: [],
    examples: [
      'gatehouse agent-sessions list --live',
      'gatehouse agent-sessions list --json | jq -r ".agent_sessions[].id"',
    ],
    run: runList,
  },
];
