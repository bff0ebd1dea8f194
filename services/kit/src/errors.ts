/**
 * Errors with stable codes. Operators grep logs and alert on `code`, so a code never changes
 * meaning once released; messages may be reworded.
 */
export class KansokuError extends Error {
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** A configuration value is wrong; `key` is the dotted path of the bad setting. */
export class ConfigError extends KansokuError {
  readonly key: string;

  constructor(key: string, message: string) {
    super('KANSOKU_CONFIG_INVALID', `${key}: ${message}`);
    this.key = key;
  }
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
