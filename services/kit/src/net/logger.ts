/** The part of a pino logger the listeners use; a pino `Logger` satisfies it. */
export interface ListenerLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

/** Error name and code, for log lines and rate-limit keys, whatever was thrown. */
export function describeError(error: unknown): { name: string; code: string | undefined; message: string } {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return { name: error.name, code: typeof code === 'string' ? code : undefined, message: error.message };
  }
  return { name: typeof error, code: undefined, message: String(error) };
}
