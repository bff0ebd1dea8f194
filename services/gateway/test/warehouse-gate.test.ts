import { createMetricsRegistry, type Warehouse } from '@kansoku/kit';
import { describe, expect, it } from 'vitest';
import {
  classifyWarehouseError,
  createWarehouseGate,
  QueryTimeoutError,
  WarehouseBusyError,
  withExecutionLimit,
} from '../src/warehouse-gate.ts';

/** A warehouse whose queries take `ms` and record the SQL and how many ran at once. */
function fakeWarehouse(ms: number) {
  const seen: string[] = [];
  let running = 0;
  let peak = 0;
  const warehouse = {
    name: 'warehouse',
    database: 'kansoku',
    embedded: true,
    async start() {},
    async stop() {},
    async command() {},
    async insert() {},
    async ping() {
      return true;
    },
    async version() {
      return 'fake';
    },
    async query<T>(sql: string): Promise<T[]> {
      seen.push(sql);
      running++;
      peak = Math.max(peak, running);
      await new Promise((r) => setTimeout(r, ms));
      running--;
      return [{ ok: 1 } as T];
    },
  } as unknown as Warehouse;
  return { warehouse, seen, peak: () => peak };
}

const metrics = () => createMetricsRegistry({ processMetrics: false });

describe('warehouse gate', () => {
  it('runs at most maxConcurrentQueries at once and queues the rest', async () => {
    const fake = fakeWarehouse(20);
    const gate = createWarehouseGate(
      fake.warehouse,
      { maxConcurrentQueries: 2, maxQueuedQueries: 100 },
      metrics(),
    );
    const results = await Promise.all(
      Array.from({ length: 10 }, () => gate.run(5000, (w) => w.query('SELECT 1'))),
    );
    expect(results).toHaveLength(10);
    expect(fake.peak()).toBe(2);
    expect(gate.running).toBe(0);
    expect(gate.queued).toBe(0);
  });

  it('refuses at once when the queue is full', async () => {
    const fake = fakeWarehouse(50);
    const gate = createWarehouseGate(
      fake.warehouse,
      { maxConcurrentQueries: 1, maxQueuedQueries: 1 },
      metrics(),
    );
    const outcomes = await Promise.allSettled(
      [1, 2, 3].map(() => gate.run(5000, (w) => w.query('SELECT 1'))),
    );
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'fulfilled', 'rejected']);
    expect((outcomes[2] as PromiseRejectedResult).reason).toBeInstanceOf(WarehouseBusyError);
  });

  it('answers at the deadline with a timeout, for a wait in the queue as for a slow query', async () => {
    // The engine takes 2 s; the answers must come at their deadlines (100 and 50 ms), long before.
    const fake = fakeWarehouse(2000);
    const registry = metrics();
    const gate = createWarehouseGate(
      fake.warehouse,
      { maxConcurrentQueries: 1, maxQueuedQueries: 10 },
      registry,
    );
    const started = Date.now();
    const slow = gate.run(100, (w) => w.query('SELECT 1'));
    const queued = gate.run(50, (w) => w.query('SELECT 2'));
    const [slowOutcome, queuedOutcome] = await Promise.allSettled([slow, queued]);
    expect((slowOutcome as PromiseRejectedResult).reason).toBeInstanceOf(QueryTimeoutError);
    expect((queuedOutcome as PromiseRejectedResult).reason).toBeInstanceOf(QueryTimeoutError);
    expect(Date.now() - started).toBeLessThan(1000);
    // The slot stays taken until the engine is done, then it is free again.
    await new Promise((r) => setTimeout(r, 2100));
    expect(gate.running).toBe(0);
    await expect(gate.run(5000, (w) => w.query('SELECT 3'))).resolves.toEqual([{ ok: 1 }]);
    expect(fake.seen).not.toContain('SELECT 2');
    expect(await registry.metrics()).toMatch(/kansoku_gateway_query_refusals_total\{reason="timeout"\} 2/);
  });

  it('gives query code a read-only warehouse and puts the remaining budget into the SQL', async () => {
    const fake = fakeWarehouse(1);
    const gate = createWarehouseGate(
      fake.warehouse,
      { maxConcurrentQueries: 1, maxQueuedQueries: 1 },
      metrics(),
    );
    await expect(gate.run(1000, (w) => w.insert('{{db}}.t', [{ a: 1 }]))).rejects.toThrow(
      /may not call insert/,
    );
    await expect(gate.run(1000, (w) => w.command('DROP TABLE x'))).rejects.toThrow(/may not call command/);
    await gate.run(2000, (w) => w.query('SELECT 1'));
    expect(fake.seen.at(-1)).toMatch(
      /^SELECT 1\nSETTINGS max_execution_time = (1\.9\d\d|2\.000), timeout_overflow_mode = 'throw'$/,
    );
  });

  it('adds the engine time limit only where the clause fits', () => {
    expect(withExecutionLimit('SELECT 1;', 1.5)).toBe(
      "SELECT 1\nSETTINGS max_execution_time = 1.500, timeout_overflow_mode = 'throw'",
    );
    expect(withExecutionLimit('WITH 1 AS x SELECT x -- note', 1)).toMatch(/-- note\nSETTINGS/);
    expect(withExecutionLimit('SELECT 1 SETTINGS max_threads = 1', 1)).toBe(
      'SELECT 1 SETTINGS max_threads = 1',
    );
    expect(withExecutionLimit('SELECT 1 FORMAT CSV', 1)).toBe('SELECT 1 FORMAT CSV');
    expect(withExecutionLimit('SHOW TABLES', 1)).toBe('SHOW TABLES');
    expect(withExecutionLimit('SELECT 1', 2, 1)).toBe(
      "SELECT 1\nSETTINGS max_execution_time = 2.000, timeout_overflow_mode = 'throw', max_threads = 1",
    );
  });

  it('classifies warehouse errors by ClickHouse code', () => {
    expect(classifyWarehouseError({ code: '159' })).toBe('timeout');
    expect(classifyWarehouseError({ code: '241' })).toBe('overload');
    expect(classifyWarehouseError({ code: '62' })).toBe('other');
    expect(classifyWarehouseError(new Error('x'))).toBe('other');
  });
});
