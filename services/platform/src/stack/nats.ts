/**
 * nats-server from Debian with JetStream on, listening on loopback:
 *   nats-server -js -sd <data>/nats -a 127.0.0.1 -p 4222 -m 8222
 * Output goes to <data>/nats/nats.log, the pid to <data>/nats/nats.pid. Healthy means the monitoring
 * endpoint `/healthz?js-enabled-only=true` says ok and the server's INFO greeting announces JetStream.
 */
import { mkdir } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { isLoopback, type NatsConfig } from './config.ts';
import { StackError, StackPrerequisiteMissingError } from './errors.ts';
import {
  acceptsConnections,
  errorText,
  findExecutable,
  isAlive,
  managedPid,
  run,
  type StackLog,
  type StopOutcome,
  spawnDetached,
  stopManaged,
  tailOf,
  tellingLine,
  waitFor,
  withLock,
} from './processes.ts';

const INSTALL_NATS = 'apt-get install nats-server';

export interface NatsEndpoint {
  servers: string[];
}

export interface NatsStartResult extends NatsEndpoint {
  startedByUs: boolean;
  pid: number | undefined;
  version: string | undefined;
}

function paths(config: NatsConfig) {
  return {
    store: config.dataDir,
    log: join(config.dataDir, 'nats.log'),
    pidFile: join(config.dataDir, 'nats.pid'),
    startLock: join(config.dataDir, '.start.lock'),
  };
}

function processMarker(config: NatsConfig): string {
  return `-sd ${config.dataDir}`;
}

export function findNatsServer(config: Pick<NatsConfig, 'bin'>): string {
  const path = config.bin
    ? findExecutable(config.bin)
    : findExecutable('nats-server', ['/usr/sbin', '/usr/local/sbin']);
  if (!path) {
    const where = config.bin ? ` at ${config.bin}` : ' on PATH or in /usr/sbin';
    throw new StackPrerequisiteMissingError(
      'nats-server',
      `nats-server not found${where}`,
      INSTALL_NATS,
      'nats',
    );
  }
  return path;
}

export interface NatsServerInfo {
  serverId: string;
  version: string;
  jetstream: boolean;
}

/** Reads the INFO line every NATS server greets a client with. */
export function natsInfo(host: string, port: number, timeoutMs = 2000): Promise<NatsServerInfo> {
  return new Promise((resolvePromise, reject) => {
    const socket = connect({ host, port });
    let text = '';
    const finish = (error: Error | undefined, info?: NatsServerInfo) => {
      socket.destroy();
      if (error) reject(error);
      else resolvePromise(info!);
    };
    socket.setTimeout(timeoutMs, () => finish(new Error(`no INFO from ${host}:${port} in ${timeoutMs} ms`)));
    socket.on('error', (error) => finish(error));
    socket.on('data', (chunk: Buffer) => {
      text += chunk.toString('utf8');
      const end = text.indexOf('\r\n');
      if (end < 0) {
        if (text.length > 64 * 1024) finish(new Error('not a NATS server (no INFO line)'));
        return;
      }
      const line = text.slice(0, end);
      if (!line.startsWith('INFO ')) return finish(new Error(`not a NATS server: ${line.slice(0, 80)}`));
      try {
        const info = JSON.parse(line.slice(5)) as {
          server_id?: string;
          version?: string;
          jetstream?: boolean;
        };
        finish(undefined, {
          serverId: info.server_id ?? '',
          version: info.version ?? '',
          jetstream: info.jetstream === true,
        });
      } catch {
        finish(new Error('not a NATS server (INFO is not JSON)'));
      }
    });
  });
}

function monitorUrl(config: NatsConfig): string {
  const host = config.listen.host.includes(':') ? `[${config.listen.host}]` : config.listen.host;
  return `http://${host}:${config.monitorPort}/healthz?js-enabled-only=true`;
}

/** Ok when the monitoring endpoint reports a healthy server with JetStream enabled. */
export async function natsHealthz(config: NatsConfig, timeoutMs = 2000): Promise<void> {
  const response = await fetch(monitorUrl(config), { signal: AbortSignal.timeout(timeoutMs) });
  const body = await response.text();
  if (!response.ok) throw new Error(`healthz answered ${response.status}: ${body.trim().slice(0, 200)}`);
  const status = (JSON.parse(body) as { status?: string }).status;
  if (status !== 'ok') throw new Error(`healthz status ${status}`);
}

async function healthy(config: NatsConfig): Promise<NatsServerInfo | undefined> {
  try {
    await natsHealthz(config);
    const info = await natsInfo(config.listen.host, config.listen.port);
    return info.jetstream ? info : undefined;
  } catch {
    return undefined;
  }
}

/** Reuses a NATS server with JetStream that already answers, or starts nats-server. */
export async function ensureNats(config: NatsConfig, log: StackLog): Promise<NatsStartResult> {
  const p = paths(config);
  const address = config.servers[0]!;
  const reuse = async (pid: number | undefined): Promise<NatsStartResult | undefined> => {
    let info: NatsServerInfo;
    try {
      info = await natsInfo(config.listen.host, config.listen.port);
    } catch {
      return undefined;
    }
    if (!info.jetstream) {
      throw new StackError(
        'KANSOKU_STACK_UNHEALTHY',
        `nats: the server at ${address} runs without JetStream: restart it with -js, or set KANSOKU_NATS_SERVERS`,
        { component: 'nats' },
      );
    }
    // A server without our monitoring port is still usable; one with it must also say JetStream is ready.
    if (await acceptsConnections(config.listen.host, config.monitorPort)) {
      const ready = await waitFor(() => healthy(config), {
        timeoutMs: config.startTimeoutMs,
        intervalMs: 200,
      });
      if (!('value' in ready)) {
        throw new StackError('KANSOKU_STACK_UNHEALTHY', `nats: ${monitorUrl(config)} does not report ok`, {
          component: 'nats',
        });
      }
    }
    log.info(
      `nats: nats-server ${info.version} answers at ${address}${pid ? ` (pid ${pid})` : ''}; reusing it`,
    );
    return { servers: config.servers, startedByUs: false, pid, version: info.version };
  };

  const existing = await reuse(await managedPid(p.pidFile, processMarker(config)));
  if (existing) return existing;
  if (!isLoopback(config.listen.host)) {
    throw new StackError(
      'KANSOKU_STACK_UNHEALTHY',
      `nats: no server answers at ${address}, and it is not on this machine, so it can't be started here`,
      { component: 'nats' },
    );
  }
  const bin = findNatsServer(config);
  await mkdir(config.dataDir, { recursive: true });
  return withLock(
    p.startLock,
    async () => {
      const running = await managedPid(p.pidFile, processMarker(config));
      if (running !== undefined) {
        const ready = await waitFor(() => reuse(running), {
          timeoutMs: config.startTimeoutMs,
          intervalMs: 200,
        });
        if ('value' in ready) return ready.value;
      }
      const again = await reuse(undefined);
      if (again) return again;
      for (const port of [config.listen.port, config.monitorPort]) {
        if (await acceptsConnections(config.listen.host, port)) {
          throw new StackError(
            'KANSOKU_STACK_PORT_IN_USE',
            `nats: ${config.listen.host}:${port} is taken by something that is not nats-server: stop it or set KANSOKU_NATS_SERVERS / KANSOKU_NATS_MONITOR_PORT`,
            { component: 'nats' },
          );
        }
      }
      const version = (
        await run(bin, ['--version'], { timeoutMs: 10_000 }).catch(() => undefined)
      )?.output.trim();
      const started = Date.now();
      const handle = await spawnDetached({
        command: bin,
        args: [
          '-js',
          '-sd',
          p.store,
          '-a',
          config.listen.host,
          '-p',
          String(config.listen.port),
          '-m',
          String(config.monitorPort),
          '-n',
          'kansoku-local',
        ],
        cwd: config.dataDir,
        logFile: p.log,
        pidFile: p.pidFile,
      });
      log.info(`nats: started ${version ?? 'nats-server'} pid ${handle.pid}, log ${p.log}`);
      const ready = await waitFor(() => healthy(config), {
        timeoutMs: config.startTimeoutMs,
        intervalMs: 100,
        stop: () => {
          if (handle.exit) return `exited with ${handle.exit.signal ?? `code ${handle.exit.code}`}`;
          return isAlive(handle.pid) ? undefined : 'exited';
        },
      });
      if (!('value' in ready)) {
        const line = tellingLine(await tailOf(p.log));
        const what =
          'stopped' in ready ? ready.stopped : `was not healthy within ${config.startTimeoutMs / 1000} s`;
        throw new StackError(
          'KANSOKU_STACK_START_FAILED',
          `nats: nats-server pid ${handle.pid} ${what}${line ? `: ${line}` : ''} (see ${p.log})`,
          { component: 'nats' },
        );
      }
      log.info(`nats: JetStream ready at ${address} after ${((Date.now() - started) / 1000).toFixed(1)} s`);
      return { servers: config.servers, startedByUs: true, pid: handle.pid, version: ready.value.version };
    },
    { timeoutMs: config.startTimeoutMs + 30_000, log, what: 'nats start' },
  );
}

export function stopNats(config: NatsConfig, log: StackLog, timeoutMs = 30_000): Promise<StopOutcome> {
  return stopManaged({
    pidFile: paths(config).pidFile,
    marker: processMarker(config),
    timeoutMs,
    log,
    name: 'nats-server',
  });
}

export interface NatsStatus {
  name: 'nats';
  endpoint: string[];
  healthy: boolean;
  pid: number | undefined;
  detail: string;
}

export async function natsStatus(config: NatsConfig): Promise<NatsStatus> {
  const pid = await managedPid(paths(config).pidFile, processMarker(config));
  try {
    const info = await natsInfo(config.listen.host, config.listen.port);
    if (!info.jetstream) throw new Error(`nats-server ${info.version} without JetStream`);
    await natsHealthz(config).catch((error: unknown) => {
      throw new Error(`monitoring: ${errorText(error)}`);
    });
    return {
      name: 'nats',
      endpoint: config.servers,
      healthy: true,
      pid,
      detail: `nats-server ${info.version}, JetStream on`,
    };
  } catch (error) {
    return { name: 'nats', endpoint: config.servers, healthy: false, pid, detail: errorText(error) };
  }
}
