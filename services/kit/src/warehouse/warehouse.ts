/**
 * One interface over ClickHouse. By default it is embedded (chDB, in-process, in a data
 * directory); when `clickhouse.url` (KANSOKU_CLICKHOUSE_URL) is set, the same calls go to a
 * ClickHouse server. SQL names tables as `{{db}}.name`; the warehouse puts the configured database
 * there (chDB ignores the client's database option, so tables are always qualified).
 * Values from users never enter SQL text: they go through `{name:Type}` bound parameters.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { type ClickHouseClient, type ClickHouseSettings, createClient } from '@clickhouse/client';
import { Type } from '@sinclair/typebox';
import type { Logger } from 'pino';
import { Counter, Histogram, type Registry } from 'prom-client';
import { defineSection, type SectionValue } from '../config.ts';
import { KansokuError } from '../errors.ts';
import type { Component } from '../lifecycle.ts';

export const clickhouseSection = defineSection(
  'clickhouse',
  Type.Object({
    url: Type.String({ default: '', description: 'ClickHouse server URL; empty means embedded chDB' }),
    path: Type.String({
      default: '.data/clickhouse',
      description: 'Data directory of the embedded database',
    }),
    database: Type.String({ default: 'kansoku', pattern: '^[A-Za-z_][A-Za-z0-9_]*$' }),
    username: Type.String({ default: 'default' }),
    password: Type.String({ default: '' }),
    requestTimeoutMs: Type.Integer({ default: 60_000, minimum: 1000 }),
  }),
  ['password'],
);

export type ClickHouseConfig = SectionValue<typeof clickhouseSection>;

export class WarehouseError extends KansokuError {}

export type QueryParams = Record<string, unknown>;

export interface InsertOptions {
  /**
   * Idempotency: an insert repeated with the same token (and the same rows) is stored once.
   * Tables that take such inserts need `non_replicated_deduplication_window` (or replication).
   */
  dedupToken?: string;
}

/**
 * Rows already written as ClickHouse TabSeparated (one row per line; see TabSeparatedWriter), in the order of
 * `columns`. The fast path for high-rate tables: no object per row, no JSON, and the embedded engine parses the
 * bytes with its own multithreaded parser.
 */
export interface TabSeparatedRows {
  columns: readonly string[];
  /** Lines, each ending in a newline. */
  data: Buffer;
  /** How many lines `data` holds (counted by the writer, for metrics). */
  rows: number;
}

/**
 * Rows already written as ClickHouse RowBinary (see RowBinaryWriter), in the order of `columns`: the cheapest
 * format for the engine to read, for the tables that take every record.
 */
export interface RowBinaryRows {
  columns: readonly string[];
  data: Buffer;
  /** How many rows `data` holds (counted by the writer, for metrics). */
  rows: number;
}

/** The part of chDB's connection this module uses: its zero-copy raw insert. */
interface ChdbRawInsert {
  chdb: {
    rawInsert(params: {
      table: string;
      values: Buffer;
      format: 'TabSeparated';
      columns: readonly string[];
      settings?: Record<string, string | number>;
    }): Promise<unknown>;
  };
}

export interface Warehouse extends Component {
  readonly database: string;
  readonly embedded: boolean;
  query<T = Record<string, unknown>>(sql: string, params?: QueryParams): Promise<T[]>;
  command(sql: string, params?: QueryParams): Promise<void>;
  insert(table: string, rows: readonly Record<string, unknown>[], options?: InsertOptions): Promise<void>;
  /** The same as `insert`, from rows already in TabSeparated text. */
  insertTabSeparated(table: string, rows: TabSeparatedRows, options?: InsertOptions): Promise<void>;
  /** The same as `insert`, from rows already in RowBinary. */
  insertRowBinary(table: string, rows: RowBinaryRows, options?: InsertOptions): Promise<void>;
  ping(): Promise<boolean>;
  /** Server version, e.g. "26.7.2.1". */
  version(): Promise<string>;
}

/**
 * Only one embedded warehouse per data directory may exist in a process: chDB owns the
 * directory, so services that run together share one instance.
 */
export function createWarehouse(
  config: ClickHouseConfig,
  deps: { log: Logger; metrics: Registry },
): Warehouse {
  const embedded = config.url === '';
  const db = config.database;
  let client: ClickHouseClient | undefined;
  let chdb: ChdbRawInsert | undefined;

  const queries = new Counter({
    name: 'kansoku_warehouse_requests_total',
    help: 'Warehouse requests by kind and outcome',
    labelNames: ['kind', 'outcome'],
    registers: [deps.metrics],
  });
  const rowsInserted = new Counter({
    name: 'kansoku_warehouse_rows_inserted_total',
    help: 'Rows sent to the warehouse by table',
    labelNames: ['table'],
    registers: [deps.metrics],
  });
  const duration = new Histogram({
    name: 'kansoku_warehouse_request_seconds',
    help: 'Warehouse request duration',
    labelNames: ['kind'],
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30],
    registers: [deps.metrics],
  });

  const withDb = (sql: string) => sql.replaceAll('{{db}}', db);
  /**
   * Embedded: where RowBinary inserts are staged. chDB's raw insert takes text formats only, so binary rows go
   * through a file the engine reads with INSERT … FROM INFILE: in memory (/dev/shm) where there is one.
   */
  let stagingDir: string | undefined;
  let stagedFiles = 0;
  const stagingFile = (): string => {
    stagingDir ??= mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'kansoku-insert-'));
    return join(stagingDir, `rows-${process.pid}-${stagedFiles++}.bin`);
  };
  const settingsClause = (settings: Record<string, string>): string => {
    const entries = Object.entries(settings);
    if (entries.length === 0) return '';
    return ` SETTINGS ${entries.map(([key, value]) => `${key} = '${value.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`).join(', ')}`;
  };
  function ready(): ClickHouseClient {
    if (!client) throw new WarehouseError('KANSOKU_WAREHOUSE_NOT_STARTED', 'warehouse used before start()');
    return client;
  }
  async function measured<T>(kind: string, run: () => Promise<T>): Promise<T> {
    const end = duration.startTimer({ kind });
    try {
      const result = await run();
      queries.inc({ kind, outcome: 'ok' });
      return result;
    } catch (error) {
      queries.inc({ kind, outcome: 'error' });
      throw error;
    } finally {
      end();
    }
  }

  return {
    name: 'warehouse',
    database: db,
    embedded,
    async start() {
      if (embedded) {
        const path = resolve(config.path);
        mkdirSync(path, { recursive: true });
        // chdb is loaded lazily: a deployment against a server never loads the native library.
        const { createChdbConnection } = await import('chdb/connection');
        const connection = createChdbConnection({ path });
        chdb = connection as unknown as ChdbRawInsert;
        client = createClient({ connection } as Parameters<typeof createClient>[0]);
        deps.log.info({ path }, 'embedded ClickHouse (chDB) opened');
      } else {
        client = createClient({
          url: config.url,
          username: config.username,
          password: config.password,
          request_timeout: config.requestTimeoutMs,
        });
        const ping = await client.ping();
        if (!ping.success) {
          throw new WarehouseError(
            'KANSOKU_WAREHOUSE_UNREACHABLE',
            `ClickHouse at ${config.url} did not answer ping`,
            {
              cause: ping.error,
            },
          );
        }
        deps.log.info({ url: config.url }, 'ClickHouse server connected');
      }
      await client.command({ query: `CREATE DATABASE IF NOT EXISTS ${db}` });
    },
    async stop() {
      await client?.close();
      client = undefined;
      chdb = undefined;
      if (stagingDir) rmSync(stagingDir, { recursive: true, force: true });
      stagingDir = undefined;
    },
    async query<T>(sql: string, params: QueryParams = {}) {
      return measured('query', async () => {
        const result = await ready().query({
          query: withDb(sql),
          query_params: params,
          format: 'JSONEachRow',
        });
        return (await result.json()) as T[];
      });
    },
    async command(sql: string, params: QueryParams = {}) {
      await measured('command', () => ready().command({ query: withDb(sql), query_params: params }));
    },
    async insert(table: string, rows: readonly Record<string, unknown>[], options: InsertOptions = {}) {
      if (rows.length === 0) return;
      const settings: ClickHouseSettings = {};
      if (options.dedupToken) settings.insert_deduplication_token = options.dedupToken;
      await measured('insert', () =>
        ready().insert({
          table: withDb(table),
          values: rows as Record<string, unknown>[],
          format: 'JSONEachRow',
          clickhouse_settings: settings,
        }),
      );
      rowsInserted.inc({ table: table.replace('{{db}}.', '') }, rows.length);
    },
    async insertTabSeparated(table: string, rows: TabSeparatedRows, options: InsertOptions = {}) {
      if (rows.rows === 0) return;
      const settings: Record<string, string> = {};
      if (options.dedupToken) settings.insert_deduplication_token = options.dedupToken;
      const target = withDb(table);
      await measured('insert', async () => {
        ready();
        if (chdb) {
          // Embedded: the bytes go to the engine as they are (no copy into an SQL string).
          await chdb.chdb.rawInsert({
            table: target,
            values: rows.data,
            format: 'TabSeparated',
            columns: rows.columns,
            settings,
          });
        } else {
          await ready().insert({
            table: target,
            values: Readable.from([rows.data]),
            format: 'TabSeparated',
            columns: rows.columns as [string, ...string[]],
            clickhouse_settings: settings,
          });
        }
      });
      rowsInserted.inc({ table: table.replace('{{db}}.', '') }, rows.rows);
    },
    async insertRowBinary(table: string, rows: RowBinaryRows, options: InsertOptions = {}) {
      if (rows.rows === 0) return;
      const settings: Record<string, string> = {};
      if (options.dedupToken) settings.insert_deduplication_token = options.dedupToken;
      const target = withDb(table);
      const columns = rows.columns.join(', ');
      await measured('insert', async () => {
        const connection = ready();
        if (chdb) {
          const file = stagingFile();
          await writeFile(file, rows.data);
          try {
            await connection.command({
              query: `INSERT INTO ${target} (${columns}) FROM INFILE '${file}'${settingsClause(settings)} FORMAT RowBinary`,
            });
          } finally {
            await unlink(file).catch(() => undefined);
          }
        } else {
          const result = await connection.exec({
            query: `INSERT INTO ${target} (${columns}) FORMAT RowBinary`,
            values: Readable.from([rows.data]),
            clickhouse_settings: settings,
          });
          result.stream.destroy(); // an insert answers nothing; free the socket
        }
      });
      rowsInserted.inc({ table: table.replace('{{db}}.', '') }, rows.rows);
    },
    async ping() {
      if (!client) return false;
      try {
        return (await client.ping()).success;
      } catch {
        return false;
      }
    },
    async version() {
      const [row] = await this.query<{ v: string }>('SELECT version() AS v');
      return row?.v ?? 'unknown';
    },
  };
}
