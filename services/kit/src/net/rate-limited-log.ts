/**
 * Malformed input arrives in bursts (one broken exporter sends thousands of bad packets a second); the
 * counters see every one, the log sees one line per kind of problem per interval, with how many were
 * left out since the last line.
 */

/** The part of a pino logger this needs. */
export interface WarnLogger {
  warn(obj: object, msg: string): void;
}

export interface RateLimitedLogOptions {
  /** Smallest time between two lines of the same key. Default 60 s. */
  intervalMs?: number;
  /** Keys remembered at once; the oldest is forgotten beyond it, so a flood of distinct keys stays bounded. Default 1000. */
  maxKeys?: number;
  /** Clock, for tests. */
  now?: () => number;
}

export interface RateLimitedLog {
  /**
   * Logs `msg` unless the same key was logged less than an interval ago. The line that ends a quiet
   * period carries `suppressed`: how many were left out before it. Returns whether a line was written.
   */
  warn(key: string, obj: Record<string, unknown>, msg: string): boolean;
  /** Writes one line per key that has suppressed messages pending (on shutdown), and forgets them. */
  flush(): void;
}

interface KeyState {
  lastLoggedAt: number;
  suppressed: number;
  lastMessage: string;
}

export function createRateLimitedLog(
  logger: WarnLogger,
  options: RateLimitedLogOptions = {},
): RateLimitedLog {
  const intervalMs = options.intervalMs ?? 60_000;
  const maxKeys = options.maxKeys ?? 1000;
  const now = options.now ?? Date.now;
  const keys = new Map<string, KeyState>();

  return {
    warn(key, obj, msg) {
      const at = now();
      const state = keys.get(key);
      if (state !== undefined && at - state.lastLoggedAt < intervalMs) {
        state.suppressed += 1;
        state.lastMessage = msg;
        return false;
      }
      const suppressed = state?.suppressed ?? 0;
      logger.warn(suppressed > 0 ? { ...obj, key, suppressed } : { ...obj, key }, msg);
      if (state === undefined) {
        if (keys.size >= maxKeys) {
          const oldest = keys.keys().next();
          if (oldest.done !== true) keys.delete(oldest.value);
        }
        keys.set(key, { lastLoggedAt: at, suppressed: 0, lastMessage: msg });
      } else {
        state.lastLoggedAt = at;
        state.suppressed = 0;
        state.lastMessage = msg;
      }
      return true;
    },
    flush() {
      for (const [key, state] of keys) {
        if (state.suppressed > 0) {
          logger.warn({ key, suppressed: state.suppressed }, `${state.lastMessage} (suppressed repeats)`);
        }
      }
      keys.clear();
    },
  };
}
