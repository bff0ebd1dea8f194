/**
 * ClickHouse for the local stack. By default it is embedded: chDB (npm `chdb`) runs inside the service
 * process, so there is nothing to start, only a data directory to create and a native addon that must
 * load. The check runs in a short-lived child process: chDB allows one database path per process, and
 * the launcher's process may be the one that opens the real database afterwards (`kansoku up`).
 * When `KANSOKU_CLICKHOUSE_URL` names a server, that server is pinged instead.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { ClickHouseConfig } from './config.ts';
import { StackError, StackPrerequisiteMissingError } from './errors.ts';
import { errorText, run, type StackLog } from './processes.ts';

const INSTALL_CHDB = 'pnpm install (chdb is a dependency of @kansoku/kit)';

export type ClickHouseEndpoint = { path: string; url?: undefined } | { url: string; path?: undefined };

export interface ChdbInfo {
  /** Version of the npm package, e.g. "3.4.0". */
  packageVersion: string;
  /** Version of the ClickHouse engine inside it, from `SELECT version()`. */
  engineVersion: string;
  /** Where the package was loaded from. */
  packageDir: string;
}

export type ClickHouseStartResult = ClickHouseEndpoint & { detail: string };

// CommonJS run by `node -e` in a child: resolve chdb the way @kansoku/kit does, run a query, print JSON.
const CHECK_SCRIPT = `
const { createRequire } = require('node:module');
const { dirname, join } = require('node:path');
const { readFileSync } = require('node:fs');
const kitRequire = createRequire(process.argv[1]);
let main;
try { main = kitRequire.resolve('chdb'); } catch (e) { console.log(JSON.stringify({ missing: String(e.message).split('\\n')[0] })); process.exit(0); }
let dir = dirname(main);
while (!require('node:fs').existsSync(join(dir, 'package.json'))) dir = dirname(dir);
const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
const chdb = kitRequire('chdb');
const engine = String(chdb.query('SELECT version()', 'TabSeparated')).trim();
const one = String(chdb.query('SELECT 1', 'TabSeparated')).trim();
console.log(JSON.stringify({ packageVersion: pkg.version, engineVersion: engine, packageDir: dir, one }));
`;

/** Loads chDB in a child process anchored at services/kit and asks its engine for its version. */
export async function checkChdb(root: string, timeoutMs = 60_000): Promise<ChdbInfo> {
  const anchor = join(root, 'services', 'kit', 'package.json');
  let result: Awaited<ReturnType<typeof run>>;
  try {
    result = await run(process.execPath, ['-e', CHECK_SCRIPT, anchor], { timeoutMs, cwd: root });
  } catch (error) {
    throw new StackError('KANSOKU_STACK_UNHEALTHY', `clickhouse: chDB check failed: ${errorText(error)}`, {
      component: 'clickhouse',
    });
  }
  const lastLine = result.output.trim().split('\n').at(-1) ?? '';
  let parsed: {
    missing?: string;
    packageVersion?: string;
    engineVersion?: string;
    packageDir?: string;
    one?: string;
  };
  try {
    parsed = JSON.parse(lastLine) as typeof parsed;
  } catch {
    const reason = result.output.split('\n').find((line) => /Error/.test(line)) ?? lastLine;
    throw new StackError(
      'KANSOKU_STACK_UNHEALTHY',
      `clickhouse: the chdb package does not load (exit ${result.code}): ${reason.trim().slice(0, 300)}`,
      { component: 'clickhouse' },
    );
  }
  if (parsed.missing !== undefined) {
    throw new StackPrerequisiteMissingError(
      'chdb',
      `chdb npm package not found from ${anchor}`,
      INSTALL_CHDB,
      'clickhouse',
    );
  }
  if (parsed.one !== '1') {
    throw new StackError('KANSOKU_STACK_UNHEALTHY', `clickhouse: chDB answered "${parsed.one}" to SELECT 1`, {
      component: 'clickhouse',
    });
  }
  return {
    packageVersion: parsed.packageVersion ?? 'unknown',
    engineVersion: parsed.engineVersion ?? 'unknown',
    packageDir: parsed.packageDir ?? '',
  };
}

/** Pings a ClickHouse server's HTTP interface (`GET /ping` answers `Ok.`). */
export async function pingClickHouse(url: string, timeoutMs = 5000): Promise<void> {
  let response: Response;
  try {
    response = await fetch(`${url}/ping`, { signal: AbortSignal.timeout(timeoutMs) });
  } catch (error) {
    throw new StackError(
      'KANSOKU_STACK_UNHEALTHY',
      `clickhouse: no answer from ${url}/ping (${errorText(error)}): start that server or unset KANSOKU_CLICKHOUSE_URL to use embedded chDB`,
      { component: 'clickhouse' },
    );
  }
  const body = (await response.text()).trim();
  if (!response.ok || body !== 'Ok.') {
    throw new StackError(
      'KANSOKU_STACK_UNHEALTHY',
      `clickhouse: ${url}/ping answered ${response.status} "${body.slice(0, 80)}", not a ClickHouse server's "Ok."`,
      { component: 'clickhouse' },
    );
  }
}

export async function ensureClickHouse(
  config: ClickHouseConfig,
  root: string,
  log: StackLog,
): Promise<ClickHouseStartResult> {
  if (config.url !== undefined) {
    await pingClickHouse(config.url);
    log.info(`clickhouse: server at ${config.url} answers /ping`);
    return { url: config.url, detail: 'server answers /ping' };
  }
  await mkdir(config.path, { recursive: true });
  const info = await checkChdb(root);
  const detail = `chdb ${info.packageVersion} (ClickHouse ${info.engineVersion})`;
  log.info(`clickhouse: embedded ${detail}, data in ${config.path}`);
  return { path: config.path, detail };
}

export interface ClickHouseStatus {
  name: 'clickhouse';
  endpoint: string[];
  healthy: boolean;
  pid: undefined;
  detail: string;
}

export async function clickHouseStatus(config: ClickHouseConfig, root: string): Promise<ClickHouseStatus> {
  const endpoint = [config.url ?? config.path];
  try {
    const result = await ensureClickHouse(config, root, { info: () => {}, warn: () => {} });
    return { name: 'clickhouse', endpoint, healthy: true, pid: undefined, detail: result.detail };
  } catch (error) {
    return { name: 'clickhouse', endpoint, healthy: false, pid: undefined, detail: errorText(error) };
  }
}
