import { KansokuError } from '@kansoku/kit';
import { Type } from '@sinclair/typebox';
import type { FastifyError, FastifyInstance } from 'fastify';

/** An error that maps to an HTTP status; its message is written for the caller. */
export class HttpError extends KansokuError {
  readonly statusCode: number;
  readonly parameter: string | undefined;
  /** The configuration key of the limit that refused the request (429, 503, 504). */
  readonly limit: string | undefined;
  /** Sent as Retry-After (seconds) when set. */
  readonly retryAfterSeconds: number | undefined;

  constructor(
    statusCode: number,
    code: string,
    message: string,
    parameter?: string,
    extra: { limit?: string; retryAfterSeconds?: number; cause?: unknown } = {},
  ) {
    super(code, message, extra.cause === undefined ? undefined : { cause: extra.cause });
    this.statusCode = statusCode;
    this.parameter = parameter;
    this.limit = extra.limit;
    this.retryAfterSeconds = extra.retryAfterSeconds;
  }
}

export const ErrorBody = Type.Object(
  {
    error: Type.String({ description: 'Stable error code' }),
    message: Type.String(),
    parameter: Type.Optional(Type.String({ description: 'The request parameter at fault' })),
    limit: Type.Optional(
      Type.String({
        description: 'The gateway setting whose limit refused the request, e.g. gateway.rateLimitPerMinute',
      }),
    ),
  },
  { $id: 'ErrorBody' },
);

/**
 * The one error handler: validation errors become 400s naming the parameter; HttpErrors keep their
 * status; anything else is a 500 whose details stay in the log (never a ClickHouse error text).
 */
export function installErrorHandler(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError | HttpError, request, reply) => {
    if (error instanceof HttpError) {
      if (error.retryAfterSeconds !== undefined) reply.header('retry-after', String(error.retryAfterSeconds));
      return reply.status(error.statusCode).send({
        error: error.code,
        message: error.message,
        ...(error.parameter ? { parameter: error.parameter } : {}),
        ...(error.limit ? { limit: error.limit } : {}),
      });
    }
    const fastifyError = error as FastifyError;
    if (fastifyError.validation) {
      const first = fastifyError.validation[0];
      const path = first?.instancePath?.replace(/^\//, '').replaceAll('/', '.') ?? '';
      const missing = (first?.params as { missingProperty?: string } | undefined)?.missingProperty;
      const parameter = missing ?? path ?? '';
      return reply.status(400).send({
        error: 'bad_request',
        message: `${fastifyError.validationContext ?? 'request'}${parameter ? `.${parameter}` : ''} ${first?.message ?? 'is invalid'}`,
        ...(parameter ? { parameter } : {}),
      });
    }
    if (
      typeof fastifyError.statusCode === 'number' &&
      fastifyError.statusCode >= 400 &&
      fastifyError.statusCode < 500
    ) {
      return reply
        .status(fastifyError.statusCode)
        .send({ error: 'bad_request', message: fastifyError.message });
    }
    request.log.error({ err: error }, 'request failed');
    return reply.status(500).send({ error: 'internal', message: 'internal error; see the gateway log' });
  });
  app.setNotFoundHandler((request, reply) =>
    reply
      .status(404)
      .send({ error: 'not_found', message: `no route ${request.method} ${request.url.split('?')[0]}` }),
  );
}
