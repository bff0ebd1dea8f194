/**
 * What stands between query routes and the warehouse: at most `maxConcurrentQueries` warehouse
 * queries at once (a bounded queue for the rest), a time budget per request that covers the wait
 * and every query it runs, and a read-only view of the warehouse for the query code.
 *
 * Cancelling: the embedded engine cannot interrupt a running call from outside (chDB's one-shot
 * queries run to completion even when their promise is abandoned), and a server would keep running
 * an abandoned HTTP query too. So the remaining budget also goes into the SQL as
 * `SETTINGS max_execution_time`: the engine itself stops the query when the budget is spent, and its
 * slot is freed then, not later. The caller gets a 504 at the deadline either way.
 */
import { Counter, Gauge, KansokuError, type Registry, type Warehouse } from '@kansoku/kit';

/** The request's time budget ran out (waiting for a slot or in the warehouse). */
export class QueryTimeoutError extends KansokuError {
  constructor(readonly budgetMs: number) {
    super('KANSOKU_GATEWAY_QUERY_TIMEOUT', `query did not finish within ${budgetMs} ms`);
  }
}

/** The queue of warehouse queries is full. */
export class WarehouseBusyError extends KansokuError {
  constructor(readonly queued: number) {
    super('KANSOKU_GATEWAY_WAREHOUSE_BUSY', `${queued} warehouse queries already waiting`);
  }
}

/** The query code tried to write through the read-only view. */
export class ReadOnlyWarehouseError extends KansokuError {}

export interface WarehouseGateOptions {
  maxConcurrentQueries: number;
  maxQueuedQueries: number;
  /** ClickHouse max_threads per query; 0 leaves it to the engine. */
  maxThreads?: number;
}

export interface WarehouseGate {
  /**
   * Runs `work` with a read-only warehouse whose queries take a slot and share one deadline
   * `budgetMs` from now. Rejects with QueryTimeoutError at the deadline, WarehouseBusyError when
   * the queue is full.
   */
  run<T>(budgetMs: number, work: (warehouse: Warehouse) => Promise<T>): Promise<T>;
  readonly running: number;
  readonly queued: number;
}

/** ClickHouse's codes for a query stopped by a limit of time (TIMEOUT_EXCEEDED, TOO_SLOW, QUERY_WAS_CANCELLED). */
const TIMEOUT_CODES = new Set(['159', '160', '394']);
/** Codes for a warehouse out of a resource: memory, too many queries, network/socket trouble. */
const OVERLOAD_CODES = new Set(['202', '209', '210', '241']);

export type WarehouseFailure = 'timeout' | 'overload' | 'other';

/** Classifies an error thrown by the warehouse client (ClickHouseError has a string `code`). */
export function classifyWarehouseError(error: unknown): WarehouseFailure {
  const code = (error as { code?: unknown } | undefined)?.code;
  const text = String(code ?? '');
  if (TIMEOUT_CODES.has(text)) return 'timeout';
  if (OVERLOAD_CODES.has(text)) return 'overload';
  const name = (error as { name?: unknown } | undefined)?.name;
  if (name === 'ChdbTimeoutError' || name === 'ChdbAbortError') return 'timeout';
  return 'other';
}

/**
 * Appends the engine-side time limit to a single SELECT. Statements that already carry SETTINGS or
 * FORMAT (where the clause would have to go elsewhere) run without it: the gateway's deadline still
 * answers the caller in time.
 */
export function withExecutionLimit(sql: string, seconds: number, maxThreads = 0): string {
  const body = sql.trimEnd().replace(/;+$/, '');
  if (!/^\s*(SELECT|WITH)\b/i.test(body)) return sql;
  if (/\b(SETTINGS|FORMAT)\b/i.test(body)) return sql;
  const threads = maxThreads > 0 ? `, max_threads = ${Math.floor(maxThreads)}` : '';
  // The new line keeps a trailing `--` comment from swallowing the clause.
  return `${body}\nSETTINGS max_execution_time = ${Math.max(0.001, seconds).toFixed(3)}, timeout_overflow_mode = 'throw'${threads}`;
}

export function createWarehouseGate(
  warehouse: Warehouse,
  options: WarehouseGateOptions,
  metrics: Registry,
): WarehouseGate {
  let running = 0;
  const waiting: { grant: () => void; cancelled: boolean }[] = [];
  let waitingCount = 0;

  new Gauge({
    name: 'kansoku_gateway_warehouse_queries_running',
    help: 'Warehouse queries the gateway is running',
    registers: [metrics],
    collect() {
      this.set(running);
    },
  });
  new Gauge({
    name: 'kansoku_gateway_warehouse_queries_queued',
    help: 'Warehouse queries waiting for a slot (gateway.maxConcurrentQueries)',
    registers: [metrics],
    collect() {
      this.set(waitingCount);
    },
  });
  const refused = new Counter({
    name: 'kansoku_gateway_query_refusals_total',
    help: 'Query requests refused by a warehouse limit: timeout (budget spent), busy (queue full)',
    labelNames: ['reason'],
    registers: [metrics],
  });
  refused.inc({ reason: 'timeout' }, 0);
  refused.inc({ reason: 'busy' }, 0);

  function release(): void {
    while (waiting.length > 0) {
      const next = waiting.shift();
      if (!next || next.cancelled) continue;
      waitingCount--;
      next.grant();
      return;
    }
    running--;
  }

  /** Resolves when a slot is ours (the caller then owns one `release`). */
  function acquire(deadline: number, budgetMs: number): Promise<void> {
    if (running < options.maxConcurrentQueries) {
      running++;
      return Promise.resolve();
    }
    if (waitingCount >= options.maxQueuedQueries) {
      refused.inc({ reason: 'busy' });
      return Promise.reject(new WarehouseBusyError(waitingCount));
    }
    return new Promise<void>((resolve, reject) => {
      const ticket = {
        cancelled: false,
        grant: () => {
          clearTimeout(timer);
          resolve();
        },
      };
      const timer = setTimeout(
        () => {
          ticket.cancelled = true;
          waitingCount--;
          reject(new QueryTimeoutError(budgetMs));
        },
        Math.max(0, deadline - Date.now()),
      );
      waiting.push(ticket);
      waitingCount++;
    });
  }

  function view(deadline: number, budgetMs: number): Warehouse {
    // Every method the warehouse has refuses, except the reading ones below: a method added to the
    // warehouse later (another way to write) is refused too, without anyone remembering to.
    const members: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(warehouse)) {
      members[key] =
        typeof value === 'function'
          ? () =>
              Promise.reject(
                new ReadOnlyWarehouseError(
                  'KANSOKU_GATEWAY_READ_ONLY',
                  `queries may not call ${key} on the warehouse`,
                ),
              )
          : value;
    }
    return {
      ...(members as unknown as Warehouse),
      ping: () => warehouse.ping(),
      version: () => warehouse.version(),
      async query<T>(sql: string, params?: Record<string, unknown>): Promise<T[]> {
        await acquire(deadline, budgetMs);
        const remainingMs = deadline - Date.now();
        if (remainingMs <= 0) {
          release();
          throw new QueryTimeoutError(budgetMs);
        }
        // The slot is freed when the engine is done with the query, not when the caller gives up.
        const pending = warehouse.query<T>(
          withExecutionLimit(sql, remainingMs / 1000, options.maxThreads ?? 0),
          params,
        );
        pending.then(release, release);
        return pending;
      },
    };
  }

  return {
    async run(budgetMs, work) {
      const deadline = Date.now() + budgetMs;
      let timer: NodeJS.Timeout | undefined;
      const expired = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new QueryTimeoutError(budgetMs)), budgetMs);
      });
      // Whichever loses the race may reject later: that rejection is expected, not unhandled.
      expired.catch(() => {});
      const done = Promise.resolve().then(() => work(view(deadline, budgetMs)));
      done.catch(() => {});
      try {
        return await Promise.race([done, expired]);
      } catch (error) {
        if (error instanceof QueryTimeoutError || classifyWarehouseError(error) === 'timeout') {
          refused.inc({ reason: 'timeout' });
          throw error instanceof QueryTimeoutError ? error : new QueryTimeoutError(budgetMs);
        }
        throw error;
      } finally {
        clearTimeout(timer);
      }
    },
    get running() {
      return running;
    },
    get queued() {
      return waitingCount;
    },
  };
}
