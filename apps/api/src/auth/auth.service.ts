import { Inject, Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import type { Logger } from 'pino';
import { ApiKeysRepository } from '../api-keys/api-keys.repository';
import { effectiveApiKeyRole } from '../api-keys/api-keys.presenter';
import { API_KEY_PREFIX } from '../api-keys/api-keys.service';
import { AppError } from '../common/app-error';
import { ErrorCode } from '../common/error-codes';
import { LOGGER } from '../common/logger';
import { ENV, type Env } from '../env';
import { presentUser } from '../users/users.presenter';
import { UsersRepository } from '../users/users.repository';
import { type Actor, type RequestContext, SYSTEM_CONTEXT } from './actor';
import type { LoginInput, MeResponse, SessionResponse, SetupInput, SetupStatusResponse } from './auth.dto';
import { LoginRateLimiter } from './login-rate-limiter';
import { PasswordHasher } from './password-hasher';
import { assertPasswordAllowed } from './password-policy';
import { randomToken, safeEqual, sha256Hex } from './secrets';
import { SessionsRepository } from './sessions.repository';

export const SESSION_TTL_MS = 7 * 24 * 60 * 60 * 1000;
/** Sliding expiry is refreshed at most this often per session. */
const SESSION_REFRESH_MS = 60 * 60 * 1000;

export interface IssuedSession extends SessionResponse {
  /** The cookie value; only its SHA-256 is stored. */
  token: string;
  expiresAt: Date;
}

@Injectable()
export class AuthService implements OnApplicationBootstrap {
  constructor(
    @Inject(ENV) private readonly env: Env,
    @Inject(LOGGER) private readonly logger: Logger,
    private readonly users: UsersRepository,
    private readonly sessions: SessionsRepository,
    private readonly apiKeys: ApiKeysRepository,
    private readonly loginRateLimiter: LoginRateLimiter,
    private readonly passwords: PasswordHasher,
  ) {}

  /** Bootstraps the admin from GATEHOUSE_ADMIN_EMAIL/_PASSWORD when no user exists yet. */
  async onApplicationBootstrap(): Promise<void> {
    const email = this.env.GATEHOUSE_ADMIN_EMAIL;
    const password = this.env.GATEHOUSE_ADMIN_PASSWORD;
    if (!email || !password) return;
    const created = await this.users.createFirstAdmin(SYSTEM_CONTEXT, {
      email: email.toLowerCase(),
      passwordHash: await this.passwords.hash(password),
    });
    if (created) this.logger.info({ email: created.email }, 'bootstrapped the admin user from the environment');
  }

  async getSetupStatus(): Promise<SetupStatusResponse> {
    return { setup_required: (await this.users.countUsers()) === 0 };
  }

  async setup(context: RequestContext, body: SetupInput, userAgent: string | null): Promise<IssuedSession> {
    // Cheap refusals first: a finished setup and a common password never cost a hash.
    if ((await this.users.countUsers()) > 0)
      throw new AppError(ErrorCode.SETUP_ALREADY_DONE, 'Setup is done; log in instead');
    assertPasswordAllowed(body.password);
    const user = await this.users.createFirstAdmin(context, {
      email: body.email,
      passwordHash: await this.passwords.hash(body.password),
    });
    if (!user) throw new AppError(ErrorCode.SETUP_ALREADY_DONE, 'Setup is done; log in instead');
    return this.issueSession(user.id, context.ip, userAgent);
  }

  async login(context: RequestContext, body: LoginInput, userAgent: string | null): Promise<IssuedSession> {
    // Throttled per client address and per (address, email) before any hashing; hashing itself is queued and bounded.
    await this.loginRateLimiter.registerAttempt(context.ip, body.email);
    const user = await this.users.findUserByEmail(body.email);
    // An unknown email is verified against a dummy hash: the same work, so timing does not reveal which emails exist.
    const valid = await this.passwords.verify(body.password, user?.passwordHash ?? null);
    if (!user || !valid) throw new AppError(ErrorCode.INVALID_CREDENTIALS, 'Wrong email or password');
    await this.loginRateLimiter.clearAttempts(context.ip, body.email);
    await this.users.recordLogin(user.id);
    return this.issueSession(user.id, context.ip, userAgent);
  }

  private async issueSession(userId: string, ip: string | null, userAgent: string | null): Promise<IssuedSession> {
    const token = randomToken(32);
    const expiresAt = new Date(Date.now() + SESSION_TTL_MS);
    // Housekeeping at a natural moment: logins are rare, and the expiry index makes this cheap.
    await this.sessions.deleteExpiredSessions(new Date());
    await this.sessions.createSession({
      tokenHash: sha256Hex(token),
      userId,
      ip,
      userAgent: userAgent?.slice(0, 512) ?? null,
      expiresAt,
    });
    const user = await this.users.findUserById(userId);
    if (!user) throw new AppError(ErrorCode.USER_NOT_FOUND, `No user ${userId}`);
    return { token, expiresAt, user: presentUser(user) };
  }

  async logout(actor: Actor | undefined): Promise<void> {
    if (actor?.type === 'user') await this.sessions.deleteSession(actor.sessionId);
  }

  async describeActor(actor: Actor): Promise<MeResponse> {
    const user = actor.type === 'user' ? await this.users.findUserById(actor.id) : null;
    return {
      type: actor.type,
      id: actor.id,
      name: actor.name,
      role: actor.role,
      user: user ? presentUser(user) : null,
    };
  }

  /** The actor behind a session cookie, or null when it is missing, unknown or expired. */
  async authenticateSession(token: string): Promise<Actor | null> {
    const session = await this.sessions.findSessionByTokenHash(sha256Hex(token));
    const now = Date.now();
    if (!session || session.expiresAt.getTime() <= now) return null;
    if (now - session.lastSeenAt.getTime() > SESSION_REFRESH_MS) {
      await this.sessions.touchSession(session.id, new Date(now + SESSION_TTL_MS));
    }
    return {
      type: 'user',
      id: session.user.id,
      name: session.user.email,
      role: session.user.role,
      sessionId: session.id,
    };
  }

  /** The actor behind an API key secret, or null. */
  async authenticateApiKey(secret: string): Promise<Actor | null> {
    if (!secret.startsWith(API_KEY_PREFIX)) return null;
    const key = await this.apiKeys.findApiKeyBySecretHash(sha256Hex(secret));
    if (!key) return null;
    await this.apiKeys.recordApiKeyUse(key, new Date());
    // Read with the owner on every request: a demotion takes effect on the key's next request.
    return {
      type: 'api_key',
      id: key.id,
      name: key.prefix,
      role: effectiveApiKeyRole(key.role, key.createdBy?.role ?? null),
    };
  }

  isDataplaneToken(token: string): boolean {
    return safeEqual(token, this.env.GATEHOUSE_DATAPLANE_TOKEN);
  }
}
