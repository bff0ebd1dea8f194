/**
 * A durable outbox per notifier: every notification is written to disk (one file each, written to a
 * temporary name and renamed, so a crash leaves whole files only) before the engine moves on, and is
 * deleted once the receiver took it. Deliveries go out in order; a failure blocks the queue and is
 * retried with exponential backoff and jitter, so a receiver's outage delays alerts but loses none,
 * and a restart resumes from the files. A receiver that refuses a notification outright (HTTP 400)
 * would block the queue forever: such a notification is moved to `dead/` and counted.
 */
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { rename, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type Component, Counter, errorMessage, Gauge, type Logger, type Registry } from '@kansoku/kit';
import { DeliveryError, type Notification, type Notifier } from './notification.ts';

export interface OutboxConfig {
  /** Folder of this notifier's outbox (created at start). */
  dir: string;
  retryInitialMs: number;
  retryMaxMs: number;
}

export interface Outbox extends Component {
  readonly notifier: Notifier;
  /** Persists the notification, then queues it. */
  enqueue(notification: Notification): Promise<void>;
  depth(): number;
  /** Resolves once the queue is empty (tests, and a graceful stop). */
  idle(): Promise<void>;
}

interface Entry {
  file: string;
  notification: Notification;
}

function outboxMetrics(registry: Registry) {
  const existing = registry.getSingleMetric('kansoku_alerting_notifications_total') as
    | Counter<'notifier' | 'outcome'>
    | undefined;
  const notifications =
    existing ??
    new Counter({
      name: 'kansoku_alerting_notifications_total',
      help: 'Notifications by notifier and outcome: sent, failed (an attempt failed), retried (an attempt after a failure), dead (refused for good), coalesced (replaced by a newer state)',
      labelNames: ['notifier', 'outcome'],
      registers: [registry],
    });
  const depth =
    (registry.getSingleMetric('kansoku_alerting_outbox_depth') as Gauge<'notifier'> | undefined) ??
    new Gauge({
      name: 'kansoku_alerting_outbox_depth',
      help: 'Notifications waiting in the outbox of each notifier',
      labelNames: ['notifier'],
      registers: [registry],
    });
  return { notifications, depth };
}

/** Backoff before retry `attempt` (1, 2, …): exponential, capped, with equal jitter. */
export function backoffMs(attempt: number, initialMs: number, maxMs: number, random = Math.random): number {
  const ceiling = Math.min(maxMs, initialMs * 2 ** Math.min(attempt - 1, 30));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

export function createOutbox(
  notifier: Notifier,
  config: OutboxConfig,
  deps: { log: Logger; metrics: Registry },
): Outbox {
  const log = deps.log.child({ notifier: notifier.name });
  const { notifications, depth } = outboxMetrics(deps.metrics);
  const labels = { notifier: notifier.name };
  const queue: Entry[] = [];
  let inFlight = new Set<Entry>();
  let sequence = 0;
  let running = false;
  let loop: Promise<void> | undefined;
  /** Ends the idle wait (a new notification) or, with `stopping`, any wait. */
  let wake: (() => void) | undefined;
  let wakeBackoff: (() => void) | undefined;
  let idleWaiters: (() => void)[] = [];

  const deadDir = join(config.dir, 'dead');
  const updateDepth = () => depth.set(labels, queue.length);
  const nudge = () => {
    wake?.();
    wake = undefined;
  };
  /** A wait; new notifications end it only when idle (a backoff is not cut short by more work). */
  const sleep = (ms: number, idle: boolean) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      const end = () => {
        clearTimeout(timer);
        resolve();
      };
      if (idle) wake = end;
      else wakeBackoff = end;
    });

  function settleIdle() {
    if (queue.length === 0) {
      for (const resolve of idleWaiters) resolve();
      idleWaiters = [];
    }
  }

  async function remove(entries: readonly Entry[], to?: string) {
    for (const entry of entries) {
      const index = queue.indexOf(entry);
      if (index >= 0) queue.splice(index, 1);
      const path = join(config.dir, entry.file);
      try {
        if (to) await rename(path, join(to, entry.file));
        else await unlink(path);
      } catch (error) {
        log.warn({ err: errorMessage(error), file: entry.file }, 'outbox file not removed');
      }
    }
    updateDepth();
  }

  async function run() {
    let attempt = 0;
    while (running) {
      if (queue.length === 0) {
        settleIdle();
        await sleep(60_000, true);
        continue;
      }
      const batch = queue.slice(0, notifier.batchSize);
      inFlight = new Set(batch);
      try {
        if (attempt > 0) notifications.inc({ ...labels, outcome: 'retried' }, batch.length);
        await notifier.deliver(batch.map((e) => e.notification));
        inFlight = new Set();
        notifications.inc({ ...labels, outcome: 'sent' }, batch.length);
        if (attempt > 0) log.info({ attempts: attempt + 1 }, 'receiver back; delivered');
        attempt = 0;
        await remove(batch);
      } catch (error) {
        inFlight = new Set();
        notifications.inc({ ...labels, outcome: 'failed' }, batch.length);
        if (error instanceof DeliveryError && error.permanent) {
          notifications.inc({ ...labels, outcome: 'dead' }, batch.length);
          log.error(
            { err: error.message, ids: batch.map((e) => e.notification.id) },
            'receiver refused notifications; moved to dead/',
          );
          await remove(batch, deadDir);
          attempt = 0;
          continue;
        }
        attempt++;
        const delay = backoffMs(attempt, config.retryInitialMs, config.retryMaxMs);
        // Logged on the 1st, 2nd, 4th, 8th… failure in a row: an outage does not flood the log.
        if ((attempt & (attempt - 1)) === 0) {
          log.warn(
            { err: errorMessage(error), attempt, retryInMs: delay, queued: queue.length },
            'delivery failed; will retry',
          );
        }
        await sleep(delay, false);
        wakeBackoff = undefined;
      }
    }
  }

  return {
    name: `outbox-${notifier.name}`,
    notifier,
    async start() {
      mkdirSync(deadDir, { recursive: true });
      const files = readdirSync(config.dir)
        .filter((f) => f.endsWith('.json'))
        .sort();
      for (const file of files) {
        try {
          queue.push({ file, notification: JSON.parse(readFileSync(join(config.dir, file), 'utf8')) });
        } catch (error) {
          log.error({ err: errorMessage(error), file }, 'unreadable outbox file skipped');
        }
      }
      const last = files.at(-1);
      sequence = last ? Number.parseInt(last, 10) + 1 || 0 : 0;
      if (queue.length > 0) log.info({ queued: queue.length }, 'outbox resumed from disk');
      updateDepth();
      running = true;
      loop = run();
    },
    async stop() {
      running = false;
      nudge();
      wakeBackoff?.();
      await loop;
      loop = undefined;
      settleIdle();
    },
    async enqueue(notification) {
      if (notifier.coalesce) {
        const older = queue.filter(
          (e) => e.notification.fingerprint === notification.fingerprint && !inFlight.has(e),
        );
        if (older.length > 0) {
          notifications.inc({ ...labels, outcome: 'coalesced' }, older.length);
          await remove(older);
        }
      }
      const file = `${String(sequence++).padStart(12, '0')}.json`;
      const path = join(config.dir, file);
      await writeFile(`${path}.tmp`, JSON.stringify(notification));
      await rename(`${path}.tmp`, path);
      queue.push({ file, notification });
      updateDepth();
      nudge();
    },
    depth: () => queue.length,
    idle() {
      if (queue.length === 0) return Promise.resolve();
      return new Promise((resolve) => idleWaiters.push(resolve));
    },
  };
}
