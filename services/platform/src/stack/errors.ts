/**
 * Errors of the local stack launcher. Each has a stable code; the message is one line a person can act on
 * (what is missing or wrong, and the command that fixes it), so callers print `message` and not a trace.
 */

export type StackErrorCode =
  | 'KANSOKU_STACK_PREREQUISITE_MISSING'
  | 'KANSOKU_STACK_CONFIG_INVALID'
  | 'KANSOKU_STACK_FETCH_FAILED'
  | 'KANSOKU_STACK_PORT_IN_USE'
  | 'KANSOKU_STACK_START_FAILED'
  | 'KANSOKU_STACK_UNHEALTHY';

export class StackError extends Error {
  readonly code: StackErrorCode;
  /** Which part of the stack the error is about (`kafka`, `nats`, `clickhouse`), when it is about one. */
  readonly component: string | undefined;

  constructor(code: StackErrorCode, message: string, options: { component?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.component = options.component;
  }
}

/** A program the stack needs is not installed (or too old). The message names it and how to install it. */
export class StackPrerequisiteMissingError extends StackError {
  /** The program, e.g. `java`, `mvn`, `nats-server`, `chdb`. */
  readonly prerequisite: string;
  /** The command that installs it, e.g. `apt-get install maven`. */
  readonly install: string;

  constructor(prerequisite: string, message: string, install: string, component?: string) {
    super('KANSOKU_STACK_PREREQUISITE_MISSING', `${message}: ${install}`, component ? { component } : {});
    this.prerequisite = prerequisite;
    this.install = install;
    // A missing program is not a bug in this code: the one line is the whole story.
    this.stack = `${this.name} [${this.code}]: ${this.message}`;
  }
}

export function isStackError(error: unknown): error is StackError {
  return error instanceof StackError;
}
