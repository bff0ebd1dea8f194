/**
 * Bearer tokens with roles. viewer < operator < admin: a route asks for the least role it needs.
 * Tokens are compared in constant time so response timing does not leak them.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { type GatewayConfig, ROLES, type Role } from './config.ts';
import { HttpError } from './errors.ts';

const digest = (s: string) => createHash('sha256').update(s).digest();

export interface Authenticator {
  /** Resolves the request's role or throws a 401/403 HttpError. */
  require(request: FastifyRequest, needed: Role): Role;
  /**
   * Who the request is for rate limiting: `token:<n>` for the n-th configured token, undefined for
   * a request without a known token (limited by its address instead).
   */
  identify(request: FastifyRequest): string | undefined;
}

export function roleAtLeast(role: Role, needed: Role): boolean {
  return ROLES.indexOf(role) >= ROLES.indexOf(needed);
}

export function createAuthenticator(config: Pick<GatewayConfig, 'tokens' | 'anonymousRole'>): Authenticator {
  const known = config.tokens.map((entry) => {
    const colon = entry.indexOf(':');
    return { role: entry.slice(0, colon) as Role, digest: digest(entry.slice(colon + 1)) };
  });
  const bearer = (header: string | undefined) =>
    header ? /^Bearer\s+(\S+)\s*$/i.exec(header)?.[1] : undefined;
  return {
    identify(request) {
      const token = bearer(request.headers.authorization);
      if (!token) return undefined;
      const presented = digest(token);
      const index = known.findIndex((k) => timingSafeEqual(k.digest, presented));
      return index >= 0 ? `token:${index}` : undefined;
    },
    require(request, needed) {
      const header = request.headers.authorization;
      let role: Role | undefined;
      if (header === undefined) {
        if (config.anonymousRole !== 'none') role = config.anonymousRole;
        else
          throw new HttpError(
            401,
            'unauthorized',
            'missing bearer token: send Authorization: Bearer <token>',
          );
      } else {
        const token = bearer(header);
        if (!token) throw new HttpError(401, 'unauthorized', 'Authorization header must be "Bearer <token>"');
        const presented = digest(token);
        role = known.find((k) => timingSafeEqual(k.digest, presented))?.role;
        if (!role) throw new HttpError(401, 'unauthorized', 'unknown bearer token');
      }
      if (!roleAtLeast(role, needed)) {
        throw new HttpError(403, 'forbidden', `this route needs the ${needed} role; the token has ${role}`);
      }
      return role;
    },
  };
}

export type AuthHook = (request: FastifyRequest, reply: FastifyReply) => Promise<void>;
