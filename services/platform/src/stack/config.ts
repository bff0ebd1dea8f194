/**
 * Where the local stack lives and how to reach it. Every value has a default, may be set by the caller
 * (options) and is otherwise taken from the environment, with the same variable names the services read
 * (`KANSOKU_KAFKA_BROKERS`, `KANSOKU_NATS_SERVERS`, `KANSOKU_CLICKHOUSE_URL`, …), so the launcher starts
 * what the services will look for.
 */
import { existsSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { StackError } from './errors.ts';

/** Kafka 4.4 runs its broker on Java 17 (class files of major version 61). */
export const DEFAULT_KAFKA_VERSION = '4.4.0';

export interface HostPort {
  host: string;
  port: number;
}

export interface KafkaOptions {
  /** `org.apache.kafka:kafka_2.13` version. Env `KANSOKU_KAFKA_VERSION`. */
  version?: string;
  /** Bootstrap brokers, `host:port`. The first is where a local broker listens. Env `KANSOKU_KAFKA_BROKERS`. */
  brokers?: string[];
  /** Port of the KRaft controller listener (same host as the broker). Env `KANSOKU_KAFKA_CONTROLLER_PORT`. */
  controllerPort?: number;
  /** Java executable. Env `KANSOKU_JAVA`, else `$JAVA_HOME/bin/java`, else `java` on PATH. */
  java?: string;
  /** Maven executable. Env `KANSOKU_MVN`, else `mvn` on PATH. */
  mvn?: string;
  /** JVM heap flags of the broker. */
  heap?: string[];
  /** How long to wait for a started broker to answer. */
  startTimeoutMs?: number;
  /** How long Maven may take to fetch the broker's jars. */
  fetchTimeoutMs?: number;
}

export interface NatsOptions {
  /** Client URLs, `host:port` or `nats://host:port`; the first is where a local server listens. Env `KANSOKU_NATS_SERVERS`. */
  servers?: string[];
  /** HTTP monitoring port (health checks). Env `KANSOKU_NATS_MONITOR_PORT`. */
  monitorPort?: number;
  /** nats-server executable. Env `KANSOKU_NATS_SERVER_BIN`, else `nats-server` on PATH or in /usr/sbin. */
  bin?: string;
  startTimeoutMs?: number;
}

export interface ClickHouseOptions {
  /** A ClickHouse server; when set, no embedded database is prepared. Env `KANSOKU_CLICKHOUSE_URL`. */
  url?: string;
  /** Data directory of the embedded chDB database. Env `KANSOKU_CLICKHOUSE_PATH`. */
  path?: string;
}

export interface StackPathOptions {
  /** Repository root; found from this file by default. */
  root?: string;
  /** Downloads that can be thrown away (`<root>/.cache`). Env `KANSOKU_STACK_CACHE_DIR`. */
  cacheDir?: string;
  /** State of the running stack (`<root>/.data`). Env `KANSOKU_STACK_DATA_DIR`. */
  dataDir?: string;
  /** Environment to read instead of `process.env`. */
  env?: NodeJS.ProcessEnv;
}

export interface StackConfigOptions extends StackPathOptions {
  kafka?: KafkaOptions;
  nats?: NatsOptions;
  clickhouse?: ClickHouseOptions;
}

export interface KafkaConfig {
  version: string;
  brokers: string[];
  listen: HostPort;
  controllerPort: number;
  java: string | undefined;
  mvn: string | undefined;
  heap: string[];
  startTimeoutMs: number;
  fetchTimeoutMs: number;
  /** `<cache>/kafka/<version>`: pom.xml, libs/, the completion marker. */
  cacheDir: string;
  /** `<data>/kafka`: server.properties, kraft log dir, broker.log, kafka.pid. */
  dataDir: string;
}

export interface NatsConfig {
  servers: string[];
  listen: HostPort;
  monitorPort: number;
  bin: string | undefined;
  startTimeoutMs: number;
  /** `<data>/nats`: JetStream store, nats.log, nats.pid. */
  dataDir: string;
}

export interface ClickHouseConfig {
  url: string | undefined;
  path: string;
}

export interface StackConfig {
  root: string;
  cacheDir: string;
  dataDir: string;
  kafka: KafkaConfig;
  nats: NatsConfig;
  clickhouse: ClickHouseConfig;
}

function invalid(key: string, message: string): StackError {
  return new StackError('KANSOKU_STACK_CONFIG_INVALID', `${key}: ${message}`);
}

/** The repository root: the nearest folder above this file holding pnpm-workspace.yaml. */
export function findRepoRoot(from: string = dirname(fileURLToPath(import.meta.url))): string {
  let dir = resolve(from);
  for (;;) {
    if (existsSync(join(dir, 'pnpm-workspace.yaml'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) throw invalid('root', `no pnpm-workspace.yaml above ${from}`);
    dir = parent;
  }
}

export function parseHostPort(key: string, value: string, defaultPort?: number): HostPort {
  const text = value.trim().replace(/^[a-z]+:\/\//i, '');
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(text);
  const plain = /^([^:/\s]+)(?::(\d+))?$/.exec(text);
  const match = bracketed ?? plain;
  const portText = match?.[2];
  const port = portText === undefined ? defaultPort : Number(portText);
  if (!match?.[1] || port === undefined || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw invalid(key, `"${value}" is not host:port`);
  }
  return { host: match[1], port };
}

function list(env: NodeJS.ProcessEnv, name: string): string[] | undefined {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return undefined;
  return raw
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part.length > 0);
}

function text(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const raw = env[name]?.trim();
  return raw === undefined || raw === '' ? undefined : raw;
}

function port(env: NodeJS.ProcessEnv, name: string, given: number | undefined, fallback: number): number {
  const raw = given ?? text(env, name);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1 || value > 65535)
    throw invalid(name, `"${raw}" is not a port number`);
  return value;
}

function positive(key: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value <= 0) throw invalid(key, `${value} is not a positive number`);
  return value;
}

export function resolveStackConfig(options: StackConfigOptions = {}): StackConfig {
  const env = options.env ?? process.env;
  const root = resolve(options.root ?? findRepoRoot());
  const inRoot = (path: string) => (isAbsolute(path) ? path : resolve(root, path));
  const cacheDir = inRoot(options.cacheDir ?? text(env, 'KANSOKU_STACK_CACHE_DIR') ?? '.cache');
  const dataDir = inRoot(options.dataDir ?? text(env, 'KANSOKU_STACK_DATA_DIR') ?? '.data');

  const k = options.kafka ?? {};
  const version = k.version ?? text(env, 'KANSOKU_KAFKA_VERSION') ?? DEFAULT_KAFKA_VERSION;
  if (!/^\d+\.\d+\.\d+$/.test(version)) throw invalid('KANSOKU_KAFKA_VERSION', `"${version}" is not x.y.z`);
  const brokers = k.brokers ?? list(env, 'KANSOKU_KAFKA_BROKERS') ?? ['127.0.0.1:9092'];
  if (brokers.length === 0) throw invalid('KANSOKU_KAFKA_BROKERS', 'no broker given');
  const kafkaListen = parseHostPort('KANSOKU_KAFKA_BROKERS', brokers[0]!, 9092);
  const javaHome = text(env, 'JAVA_HOME');
  const kafka: KafkaConfig = {
    version,
    brokers: brokers.map((b) => {
      const hp = parseHostPort('KANSOKU_KAFKA_BROKERS', b, 9092);
      return `${hp.host.includes(':') ? `[${hp.host}]` : hp.host}:${hp.port}`;
    }),
    listen: kafkaListen,
    controllerPort: port(env, 'KANSOKU_KAFKA_CONTROLLER_PORT', k.controllerPort, kafkaListen.port + 1),
    java: k.java ?? text(env, 'KANSOKU_JAVA') ?? (javaHome ? join(javaHome, 'bin', 'java') : undefined),
    mvn: k.mvn ?? text(env, 'KANSOKU_MVN'),
    heap: k.heap ?? ['-Xms512m', '-Xmx1g'],
    startTimeoutMs: positive('kafka.startTimeoutMs', k.startTimeoutMs, 180_000),
    fetchTimeoutMs: positive('kafka.fetchTimeoutMs', k.fetchTimeoutMs, 240_000),
    cacheDir: join(cacheDir, 'kafka', version),
    dataDir: join(dataDir, 'kafka'),
  };
  if (kafka.controllerPort === kafkaListen.port) {
    throw invalid(
      'KANSOKU_KAFKA_CONTROLLER_PORT',
      `the controller needs its own port, not ${kafkaListen.port}`,
    );
  }

  const n = options.nats ?? {};
  const servers = n.servers ?? list(env, 'KANSOKU_NATS_SERVERS') ?? ['127.0.0.1:4222'];
  if (servers.length === 0) throw invalid('KANSOKU_NATS_SERVERS', 'no server given');
  const natsListen = parseHostPort('KANSOKU_NATS_SERVERS', servers[0]!, 4222);
  const nats: NatsConfig = {
    servers: servers.map((s) => {
      const hp = parseHostPort('KANSOKU_NATS_SERVERS', s, 4222);
      return `${hp.host.includes(':') ? `[${hp.host}]` : hp.host}:${hp.port}`;
    }),
    listen: natsListen,
    monitorPort: port(env, 'KANSOKU_NATS_MONITOR_PORT', n.monitorPort, 8222),
    bin: n.bin ?? text(env, 'KANSOKU_NATS_SERVER_BIN'),
    startTimeoutMs: positive('nats.startTimeoutMs', n.startTimeoutMs, 30_000),
    dataDir: join(dataDir, 'nats'),
  };

  const c = options.clickhouse ?? {};
  const url = c.url ?? text(env, 'KANSOKU_CLICKHOUSE_URL');
  if (url !== undefined && !/^https?:\/\/[^/\s]+/i.test(url)) {
    throw invalid('KANSOKU_CLICKHOUSE_URL', `"${url}" is not an http(s) URL`);
  }
  const clickhouse: ClickHouseConfig = {
    url: url?.replace(/\/+$/, ''),
    path: inRoot(c.path ?? text(env, 'KANSOKU_CLICKHOUSE_PATH') ?? join(dataDir, 'clickhouse')),
  };

  return { root, cacheDir, dataDir, kafka, nats, clickhouse };
}

/** Only a server on this machine can be started here. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}
