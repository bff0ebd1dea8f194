/**
 * Composes modules into a process: loads and validates the configuration of every section the
 * chosen services need, builds all components (inert), then — unless only checking — prepares
 * topics and tables and starts them in order.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import {
  type Component,
  ConfigError,
  type ConfigSection,
  clickhouseSection,
  createLifecycle,
  createLogger,
  createMetricsRegistry,
  createMetricsServer,
  defineSection,
  ingestLedgerMigration,
  kafkaSection,
  loadConfig,
  logSection,
  migrate,
  natsSection,
  type ServiceDefinition,
} from '@kansoku/kit';
import { Type } from '@sinclair/typebox';
import { platformModules } from './modules.ts';
import { createRuntime, type PlatformRuntime } from './runtime.ts';
import { simulatorOptions } from './simulate.ts';
import { findRepoRoot } from './stack/config.ts';
import { consoleStackLog, startStack } from './stack/index.ts';
import { kafkaTopicSpecs } from './topics.ts';

export const metricsServerSection = defineSection(
  'metrics',
  Type.Object({
    host: Type.String({ default: '127.0.0.1' }),
    port: Type.Integer({
      default: 9464,
      minimum: 0,
      maximum: 65535,
      description: '/metrics when no gateway runs',
    }),
  }),
);

const SHARED_SECTIONS: ConfigSection[] = [
  logSection,
  kafkaSection,
  clickhouseSection,
  natsSection,
  metricsServerSection,
];

export interface PlatformOptions {
  mode: 'up' | 'run' | 'migrate';
  services?: string[];
  configFile: string | undefined;
  check: boolean;
  dump: boolean;
  startStack: boolean;
  /** (up) also run every domain's simulator, so a new user sees data at once. */
  demo?: boolean;
  /** (up) every service but these (e.g. a collector run in a process of its own at high rates). */
  except?: string[];
}

export function describeServices(): string {
  return platformModules()
    .flatMap((m) => m.services.map((s) => `${s.name.padEnd(20)} ${s.description}\n`))
    .join('');
}

function chooseServices(
  mode: PlatformOptions['mode'],
  names: string[] | undefined,
  except: string[] = [],
): ServiceDefinition[] {
  const all = platformModules().flatMap((m) => m.services);
  const find = (name: string, key: string) => {
    const found = all.find((s) => s.name === name);
    if (!found) {
      throw new ConfigError(key, `unknown service '${name}' (known: ${all.map((s) => s.name).join(', ')})`);
    }
    return found;
  };
  if (mode === 'migrate') return [];
  if (mode === 'up') {
    const left = new Set(except.map((name) => find(name, 'except')));
    return all.filter((s) => !left.has(s));
  }
  return (names ?? []).map((name) => find(name, 'service'));
}

/** `up` on a fresh machine: an admin token is made once and kept in .data so Grafana can be set up with it. */
function ensureLocalAdminToken(env: NodeJS.ProcessEnv): { env: NodeJS.ProcessEnv; tokenFile: string } {
  const tokenFile = join(findRepoRoot(), '.data', 'gateway-admin-token');
  if (!existsSync(tokenFile)) {
    mkdirSync(dirname(tokenFile), { recursive: true });
    writeFileSync(tokenFile, `${randomBytes(24).toString('base64url')}\n`, { mode: 0o600 });
  }
  const token = readFileSync(tokenFile, 'utf8').trim();
  return { env: { ...env, KANSOKU_GATEWAY_TOKENS: `admin:${token}` }, tokenFile };
}

/** Every section of every module, from the YAML file and the environment; throws ConfigError naming a bad key. */
export function loadPlatformConfig(
  configFile: string | undefined,
  env?: NodeJS.ProcessEnv,
): ReturnType<typeof loadConfig> {
  const sections = [...SHARED_SECTIONS, ...platformModules().flatMap((m) => m.sections)];
  return loadConfig(sections, { ...(configFile ? { file: configFile } : {}), ...(env ? { env } : {}) });
}

export async function runPlatform(options: PlatformOptions): Promise<number> {
  const modules = platformModules();
  const sections = [...SHARED_SECTIONS, ...modules.flatMap((m) => m.sections)];
  let config = loadPlatformConfig(options.configFile);
  let adminTokenFile: string | undefined;
  const gatewaySection = sections.find((s) => s.name === 'gateway');
  if (options.mode === 'up' && gatewaySection && !options.check && !options.dump) {
    const gateway = config.get(gatewaySection) as { tokens: string[]; anonymousRole: string };
    if (gateway.tokens.length === 0 && gateway.anonymousRole === 'none') {
      const local = ensureLocalAdminToken(process.env);
      config = loadPlatformConfig(options.configFile, local.env);
      adminTokenFile = local.tokenFile;
    }
  }
  if (options.dump) {
    process.stdout.write(config.dump());
    return 0;
  }

  const services = chooseServices(options.mode, options.services, options.except);
  const log = createLogger(config.get(logSection));
  const metrics = createMetricsRegistry();
  const runtime = createRuntime(config, modules, { log, metrics });
  const serviceComponents = services.flatMap((s) => s.build(runtime));
  const needsMetricsServer = options.mode === 'run' && !services.some((s) => s.name === 'gateway');
  const metricsServer = needsMetricsServer
    ? createMetricsServer(config.get(metricsServerSection), { metrics })
    : undefined;

  if (options.check) {
    const names = options.mode === 'migrate' ? 'migrate' : services.map((s) => s.name).join(', ');
    process.stdout.write(`configuration is valid (${names})\n`);
    return 0;
  }

  if (options.startStack) {
    process.stdout.write('starting the local stack (Kafka, NATS, embedded ClickHouse)…\n');
    const stack = await startStack({ log: consoleStackLog });
    process.stdout.write(`stack ready in ${(stack.elapsedMs / 1000).toFixed(1)} s\n`);
  }

  // Idempotent, so every mode does it: a service started alone finds its topics and tables.
  // Tables only where a service uses the warehouse: a process of collectors alone must not open the embedded
  // one, which belongs to the process beside it that does.
  await prepare(
    runtime,
    modules.flatMap((m) => m.migrations),
    {
      tables: options.mode !== 'run' || runtime.usesWarehouse(),
    },
  );
  if (options.mode === 'migrate') {
    process.stdout.write('topics and tables are up to date\n');
    return 0;
  }

  // Simulators start last (their collectors listen by then) and stop first.
  const demoFeeds = options.demo
    ? modules.flatMap((m) =>
        m.simulator
          ? [m.simulator.create(simulatorOptions(m.simulator, {}), { log: log.child({ demo: m.name }) })]
          : [],
      )
    : [];
  const components: Component[] = [
    ...runtime.infrastructure(),
    ...(metricsServer ? [metricsServer] : []),
    ...serviceComponents,
    ...demoFeeds,
  ];
  const lifecycle = createLifecycle(components, { log });
  await lifecycle.start();
  printWhereThingsAre(runtime, services, metricsServer, adminTokenFile, demoFeeds.length > 0);
  await new Promise<void>((resolve) => {
    const onSignal = (signal: NodeJS.Signals) => {
      log.info({ signal }, 'stopping');
      lifecycle.stop().then(resolve, resolve);
    };
    process.once('SIGTERM', onSignal);
    process.once('SIGINT', onSignal);
  });
  return 0;
}

/** Topics first (processors subscribe to them), then tables; both idempotent. */
export async function prepare(
  runtime: PlatformRuntime,
  migrations: Parameters<typeof migrate>[1],
  options: { tables: boolean } = { tables: true },
): Promise<void> {
  const admin = runtime.kafkaAdmin();
  await admin.ensureTopics(kafkaTopicSpecs());
  if (!options.tables) return;
  const warehouse = runtime.warehouse();
  await warehouse.start();
  try {
    await migrate(warehouse, [ingestLedgerMigration, ...migrations], { log: runtime.log });
  } finally {
    await warehouse.stop();
  }
}

function printWhereThingsAre(
  runtime: PlatformRuntime,
  services: ServiceDefinition[],
  metricsServer: { port(): number } | undefined,
  adminTokenFile: string | undefined,
  demo: boolean,
): void {
  const clickhouse = runtime.config.get(clickhouseSection);
  const lines = [
    '',
    `Kansoku ${runtime.version} is running: ${services.map((s) => s.name).join(', ')}`,
    ...services.flatMap((s) => s.endpoints?.() ?? []).map((l) => `  ${l}`),
    ...(metricsServer
      ? [`  metrics  http://${runtime.config.get(metricsServerSection).host}:${metricsServer.port()}/metrics`]
      : []),
    `  kafka    ${runtime.kafka().brokers.join(',')}`,
    `  nats     ${runtime.config.get(natsSection).servers.join(',')}`,
    ...(runtime.usesWarehouse()
      ? [
          `  clickhouse ${clickhouse.url || `embedded chDB in ${clickhouse.path}`} (database ${clickhouse.database})`,
        ]
      : []),
    ...(adminTokenFile ? [`  admin token: in ${adminTokenFile} (send Authorization: Bearer <token>)`] : []),
    ...(demo
      ? ['  demo feed: simulated traffic is being sent to the collectors (pnpm kansoku simulate --help)']
      : []),
    'Stop with Ctrl-C (SIGTERM drains every service).',
    '',
  ];
  process.stdout.write(lines.join('\n'));
}
