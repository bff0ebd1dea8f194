/**
 * Rate limits on /api/v1: a budget of requests per minute for each configured token, and a smaller
 * one per client address for everything else (anonymous requests and unknown tokens, so trying
 * random tokens is limited as well). Refusals are 429 with Retry-After and a body naming the limit.
 */
import rateLimit from '@fastify/rate-limit';
import { Counter, type Registry } from '@kansoku/kit';
import type { FastifyInstance } from 'fastify';
import type { Authenticator } from './auth.ts';
import type { GatewayConfig } from './config.ts';
import { HttpError } from './errors.ts';

const WINDOW_MS = 60_000;

export async function installRateLimit(
  app: FastifyInstance,
  deps: {
    config: Pick<GatewayConfig, 'rateLimitPerMinute' | 'rateLimitAnonymousPerMinute'>;
    auth: Authenticator;
    metrics: Registry;
  },
): Promise<void> {
  const { config, auth } = deps;
  const limited = new Counter({
    name: 'kansoku_gateway_rate_limited_total',
    help: 'Requests refused with 429, by kind of client (token or address)',
    labelNames: ['client'],
    registers: [deps.metrics],
  });
  limited.inc({ client: 'token' }, 0);
  limited.inc({ client: 'address' }, 0);
  const isToken = (key: string) => key.startsWith('token:');
  const limitOf = (key: string) =>
    isToken(key) ? config.rateLimitPerMinute : config.rateLimitAnonymousPerMinute;

  await app.register(rateLimit, {
    global: true,
    hook: 'onRequest',
    timeWindow: WINDOW_MS,
    // Bounded memory for the per-client counters (LRU).
    cache: 10_000,
    keyGenerator: (request) => auth.identify(request) ?? `address:${request.ip}`,
    max: (_request, key) => limitOf(key),
    // Health, metrics, docs and static pages are not limited; a limit of 0 turns limiting off.
    allowList: (request, key) => !request.url.startsWith('/api/') || limitOf(key) === 0,
    onExceeded: (_request, key) => limited.inc({ client: isToken(key) ? 'token' : 'address' }),
    errorResponseBuilder: (request, context) => {
      const key = auth.identify(request);
      const setting = key ? 'gateway.rateLimitPerMinute' : 'gateway.rateLimitAnonymousPerMinute';
      const who = key ? 'this token' : 'this address without a known token';
      return new HttpError(
        429,
        'rate_limited',
        `rate limit of ${context.max} requests per minute for ${who} reached: retry in ${context.after}`,
        undefined,
        { limit: setting },
      );
    },
  });
}
