import type { CookieOptions, Request, Response } from 'express';

export const SESSION_COOKIE = 'gatehouse_session';

function cookieOptions(request: Request, expires?: Date): CookieOptions {
  // `request.secure` honours X-Forwarded-Proto only from GATEHOUSE_TRUSTED_PROXIES (express "trust proxy").
  return { httpOnly: true, sameSite: 'lax', secure: request.secure, path: '/', ...(expires ? { expires } : {}) };
}

export function setSessionCookie(request: Request, response: Response, token: string, expires: Date): void {
  response.cookie(SESSION_COOKIE, token, cookieOptions(request, expires));
}

export function clearSessionCookie(request: Request, response: Response): void {
  response.clearCookie(SESSION_COOKIE, cookieOptions(request));
}
