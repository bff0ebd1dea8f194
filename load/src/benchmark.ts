/**
 * The contract every benchmark module under `load/src/benchmarks/` follows, and the small helpers they share.
 * `load/src/bench.ts` finds a module by its file name, calls `run(args)` and records what it returns.
 */

/** Flags after the benchmark name: `--messages 1000 --sizes=200,1024 --verbose` → strings or `true`. */
export type BenchArgs = Readonly<Record<string, string | boolean>>;

/** A table the harness prints; a benchmark may return several (one per section). */
export interface ResultTable {
  title?: string;
  columns: string[];
  rows: (string | number)[][];
}

/** What `run` returns: any JSON-able numbers, plus the tables to print. */
export interface BenchResult {
  tables?: ResultTable[];
  /** One line per finding worth reading under the tables (a warning, a check that failed). */
  notes?: string[];
  [key: string]: unknown;
}

export interface Benchmark {
  name: string;
  description: string;
  /** Flags this benchmark understands, for `pnpm bench <name> --help`. */
  flags?: Record<string, string>;
  run(args: BenchArgs): Promise<BenchResult>;
}

export class BenchArgumentError extends Error {
  readonly code = 'KANSOKU_BENCH_BAD_ARGUMENT';
}

/** Splits `argv` into positional words and `--flag[=value]` / `--flag value` pairs. */
export function parseArgv(argv: readonly string[]): {
  positional: string[];
  flags: Record<string, string | boolean>;
} {
  const positional: string[] = [];
  const flags: Record<string, string | boolean> = {};
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i]!;
    if (!word.startsWith('--')) {
      positional.push(word);
      continue;
    }
    const body = word.slice(2);
    const equals = body.indexOf('=');
    if (equals >= 0) {
      flags[body.slice(0, equals)] = body.slice(equals + 1);
      continue;
    }
    const next = argv[i + 1];
    if (next !== undefined && !next.startsWith('--')) {
      flags[body] = next;
      i++;
    } else {
      flags[body] = true;
    }
  }
  return { positional, flags };
}

export function intFlag(args: BenchArgs, name: string, fallback: number): number {
  const raw = args[name];
  if (raw === undefined) return fallback;
  const value = typeof raw === 'string' ? Number(raw.replaceAll('_', '')) : Number.NaN;
  if (!Number.isInteger(value) || value <= 0) {
    throw new BenchArgumentError(`--${name} must be a positive integer (got ${String(raw)})`);
  }
  return value;
}

export function stringFlag(args: BenchArgs, name: string, fallback: string): string {
  const raw = args[name];
  if (raw === undefined) return fallback;
  if (typeof raw !== 'string') throw new BenchArgumentError(`--${name} needs a value`);
  return raw;
}

export function listFlag(args: BenchArgs, name: string, fallback: string[]): string[] {
  const raw = args[name];
  if (raw === undefined) return fallback;
  if (typeof raw !== 'string') throw new BenchArgumentError(`--${name} needs a comma-separated list`);
  return raw
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part.length > 0);
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  if (sorted.length % 2 === 1) return sorted[middle]!;
  return (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** Renders a table with right-aligned numbers and left-aligned text. */
export function formatTable(table: ResultTable): string {
  const cells = [table.columns, ...table.rows.map((row) => row.map((cell) => formatCell(cell)))];
  const widths = table.columns.map((_, column) =>
    Math.max(...cells.map((row) => (row[column] ?? '').length)),
  );
  const numeric = table.columns.map((_, column) =>
    table.rows.every((row) => typeof row[column] === 'number'),
  );
  const line = (row: string[]) =>
    row
      .map((cell, column) =>
        numeric[column] ? cell.padStart(widths[column]!) : cell.padEnd(widths[column]!),
      )
      .join('  ')
      .trimEnd();
  const out: string[] = [];
  if (table.title) out.push(table.title);
  out.push(line(cells[0]!));
  out.push(widths.map((width) => '-'.repeat(width)).join('  '));
  for (const row of cells.slice(1)) out.push(line(row));
  return out.join('\n');
}

/** The same table as GitHub markdown, for docs/benchmarks.md. */
export function formatMarkdownTable(table: ResultTable): string {
  const numeric = table.columns.map((_, column) =>
    table.rows.every((row) => typeof row[column] === 'number'),
  );
  const out = [
    `| ${table.columns.join(' | ')} |`,
    `| ${numeric.map((isNumber) => (isNumber ? '---:' : '---')).join(' | ')} |`,
  ];
  for (const row of table.rows) out.push(`| ${row.map((cell) => formatCell(cell)).join(' | ')} |`);
  return out.join('\n');
}

function formatCell(cell: string | number): string {
  if (typeof cell === 'string') return cell;
  if (!Number.isFinite(cell)) return String(cell);
  if (Number.isInteger(cell)) return cell.toLocaleString('en-US');
  const digits = Math.abs(cell) >= 100 ? 0 : Math.abs(cell) >= 10 ? 1 : 2;
  return cell.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}
