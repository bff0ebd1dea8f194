/**
 * Benchmark harness: `pnpm bench <name> [--flags]`.
 *
 * Each benchmark is a module `load/src/benchmarks/<name>.ts` whose default export (or named `benchmark`)
 * follows `Benchmark`. The harness runs it, prints its tables, and writes `load/results/<name>.json` with the
 * numbers and where they were measured (machine, Node, kernel, git commit, the exact command).
 * `pnpm bench` alone lists the benchmarks; `pnpm bench <name> --help` shows a benchmark's flags; `--tag <t>`
 * writes `load/results/<name>.<t>.json` instead, for side runs that must not replace the recorded one.
 */
import { mkdir, readdir, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { BenchArgumentError, type Benchmark, formatTable, parseArgv } from './benchmark.ts';
import { gitInfo, machineInfo } from './machine.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const benchmarksDir = path.join(here, 'benchmarks');
const repoRoot = path.resolve(here, '..', '..');
const resultsDir = path.resolve(here, '..', 'results');

const NAME_PATTERN = /^[a-z0-9][a-z0-9-]*$/;

async function benchmarkNames(): Promise<string[]> {
  const files = await readdir(benchmarksDir);
  return files
    .filter((file) => file.endsWith('.ts') && !file.endsWith('.d.ts'))
    .map((file) => file.slice(0, -'.ts'.length))
    .filter((name) => NAME_PATTERN.test(name))
    .sort();
}

async function loadBenchmark(name: string): Promise<Benchmark> {
  const module = (await import(pathToFileURL(path.join(benchmarksDir, `${name}.ts`)).href)) as {
    default?: Benchmark;
    benchmark?: Benchmark;
  };
  const benchmark = module.default ?? module.benchmark;
  if (!benchmark || typeof benchmark.run !== 'function') {
    throw new Error(
      `load/src/benchmarks/${name}.ts does not export a benchmark ({ name, description, run })`,
    );
  }
  return benchmark;
}

async function list(): Promise<void> {
  const names = await benchmarkNames();
  process.stdout.write('Usage: pnpm bench <name> [--flags]   (pnpm bench <name> --help for its flags)\n\n');
  const width = Math.max(...names.map((name) => name.length));
  for (const name of names) {
    const benchmark = await loadBenchmark(name);
    process.stdout.write(`  ${name.padEnd(width)}  ${benchmark.description}\n`);
  }
}

function help(benchmark: Benchmark): void {
  process.stdout.write(`${benchmark.name}: ${benchmark.description}\n`);
  process.stdout.write(`\nHarness flag: --tag <t> writes load/results/${benchmark.name}.<t>.json instead\n`);
  const flags = Object.entries(benchmark.flags ?? {});
  if (flags.length === 0) return;
  process.stdout.write('\nFlags:\n');
  const width = Math.max(...flags.map(([flag]) => flag.length));
  for (const [flag, text] of flags) process.stdout.write(`  --${flag.padEnd(width)}  ${text}\n`);
}

async function main(argv: string[]): Promise<number> {
  const { positional, flags } = parseArgv(argv);
  const name = positional[0];
  if (!name || name === 'list') {
    await list();
    return 0;
  }
  const names = await benchmarkNames();
  if (!names.includes(name)) {
    process.stderr.write(`Unknown benchmark "${name}". Known: ${names.join(', ')}\n`);
    return 2;
  }
  const benchmark = await loadBenchmark(name);
  // --tag is the harness's: results go to load/results/<name>.<tag>.json, so a side run keeps the main record.
  const tag = flags.tag;
  delete flags.tag;
  if (tag !== undefined && (typeof tag !== 'string' || !NAME_PATTERN.test(tag))) {
    throw new BenchArgumentError('--tag needs a name of lowercase letters, digits and dashes');
  }
  if (flags.help === true) {
    help(benchmark);
    return 0;
  }

  const command = ['pnpm', 'bench', ...argv].join(' ');
  const machine = machineInfo();
  const git = gitInfo(repoRoot);
  process.stdout.write(
    `${benchmark.name} — ${machine.cpuCount} × ${machine.cpuModel}, ${machine.totalMemoryGiB} GiB, ` +
      `${machine.os}, kernel ${machine.kernel}, Node ${machine.node}, commit ${git.commit?.slice(0, 12) ?? '?'}` +
      `${git.dirty ? ' (dirty)' : ''}\n\n`,
  );

  const startedAt = new Date();
  const result = await benchmark.run(flags);
  const finishedAt = new Date();

  for (const table of result.tables ?? []) process.stdout.write(`${formatTable(table)}\n\n`);
  for (const note of result.notes ?? []) process.stdout.write(`note: ${note}\n`);

  const record = {
    benchmark: benchmark.name,
    description: benchmark.description,
    command,
    args: flags,
    startedAt: startedAt.toISOString(),
    finishedAt: finishedAt.toISOString(),
    durationSeconds: (finishedAt.getTime() - startedAt.getTime()) / 1000,
    machine,
    git,
    result,
  };
  await mkdir(resultsDir, { recursive: true });
  const target = path.join(resultsDir, tag ? `${benchmark.name}.${tag}.json` : `${benchmark.name}.json`);
  const temporary = `${target}.tmp`;
  await writeFile(temporary, `${JSON.stringify(record, jsonReplacer, 2)}\n`);
  await rename(temporary, target);
  process.stdout.write(`\nwrote ${path.relative(repoRoot, target)}\n`);
  return 0;
}

function jsonReplacer(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? value.toString() : value;
}

// Exit explicitly: a benchmark that leaves a client's socket or timer behind must not keep the CLI waiting.
main(process.argv.slice(2)).then(
  (code) => {
    process.exit(code);
  },
  (error: unknown) => {
    if (error instanceof BenchArgumentError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(2);
    }
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
