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
}

export function roleAtLeast(role: Role, needed: Role): boolean {
  return ROLES.indexOf(role) >= ROLES.indexOf(needed);
}

export function createAuthenticator(config: Pick<GatewayConfig, 'tokens' | 'anonymousRole'>): Authenticator {
  const known = config.tokens.map((entry) => {
    const colon = entry.indexOf(':');
    return { role: entry.slice(0, colon) as Role, digest: digest(entry.slice(colon + 1)) };
  });
  return {
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
        const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
        if (!match?.[1])
          throw new HttpError(401, 'unauthorized', 'Authorization header must be "Bearer <token>"');
        const presented = digest(match[1]);
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
