import { Body, Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiNoContentResponse, ApiNotFoundResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import {
  type AgentSessionLeaveRequest,
  AgentSessionLeaveRequestSchema,
  type AgentSessionRegisterRequest,
  AgentSessionRegisterRequestSchema,
  type AgentSessionRegistration,
  AgentSessionRegistrationSchema,
  ErrorResponseSchema,
} from '@gatehouse/contracts';
import { DataplaneAuth, RequireRole } from '../auth/auth.decorators';
import {
  type AgentSessionListResponse,
  AgentSessionListResponseSchema,
  type AgentSessionResponse,
  AgentSessionResponseSchema,
  type ListAgentSessionsQuery,
  ListAgentSessionsQuerySchema,
} from './agent-sessions.dto';
import { AgentSessionsService } from './agent-sessions.service';

/** Agent sessions for people: read-only (an agent's config is the source of truth; revoke its authtoken to stop it). */
@ApiTags('agent sessions')
@Controller('agent-sessions')
export class AgentSessionsController {
  constructor(private readonly sessions: AgentSessionsService) {}

  @ApiOperation({ summary: 'List agent sessions, newest first' })
  @Get()
  @RequireRole('viewer')
  @ApiOkResponse({ standardSchema: AgentSessionListResponseSchema })
  listSessions(
    @Query({ schema: ListAgentSessionsQuerySchema }) query: ListAgentSessionsQuery,
  ): Promise<AgentSessionListResponse> {
    return this.sessions.listSessions(query);
  }

  @ApiOperation({ summary: 'Get one agent session with its data planes and endpoints' })
  @Get(':id')
  @RequireRole('viewer')
  @ApiOkResponse({ standardSchema: AgentSessionResponseSchema })
  @ApiNotFoundResponse({ description: 'AGENT_SESSION_NOT_FOUND', standardSchema: ErrorResponseSchema })
  getSession(@Param('id') id: string): Promise<AgentSessionResponse> {
    return this.sessions.getSession(id);
  }
}

/** Routes data planes call with GATEHOUSE_DATAPLANE_TOKEN when an agent connects to them or drops (agent-tunnel.ts). */
@ApiTags('data-plane sync')
@DataplaneAuth()
@Controller('dataplane/agent-sessions')
export class DataplaneAgentSessionsController {
  constructor(private readonly sessions: AgentSessionsService) {}

  @ApiOperation({
    summary: 'Data plane: register a connection of an agent',
    description:
      'Checks the authtoken, finds or starts the session of the declaration’s session_key, records this data plane ' +
      'as holding it, and claims each declared endpoint. A refused authtoken is a 200 with status "refused".',
  })
  @Post()
  @HttpCode(200)
  @ApiOkResponse({ standardSchema: AgentSessionRegistrationSchema })
  register(
    @Body({ schema: AgentSessionRegisterRequestSchema }) body: AgentSessionRegisterRequest,
  ): Promise<AgentSessionRegistration> {
    return this.sessions.registerAgentSession(body);
  }

  @ApiOperation({ summary: 'Data plane: it lost its connection of a session' })
  @Post('leave')
  @HttpCode(204)
  @ApiNoContentResponse({ description: 'Recorded (also when the session or hold is already gone)' })
  async leave(@Body({ schema: AgentSessionLeaveRequestSchema }) body: AgentSessionLeaveRequest): Promise<void> {
    await this.sessions.leaveAgentSession(body);
  }
}
