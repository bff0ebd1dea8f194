/**
 * Component lifecycle. `createX(config, deps)` builds an inert component (no sockets, no files),
 * so a whole service can be built to validate its configuration (`--check`) without side effects.
 * `start()` runs in order; `stop()` runs in reverse and drains (flush producers, commit
 * consumers, drain NATS, flush the warehouse).
 */
import type { Logger } from 'pino';
import { errorMessage } from './errors.ts';

export interface Component {
  readonly name: string;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export interface Lifecycle {
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Starts, then stops on SIGTERM or SIGINT; resolves once stopped. */
  runUntilSignal(): Promise<void>;
}

export function createLifecycle(
  components: Component[],
  deps: { log: Logger; stopTimeoutMs?: number },
): Lifecycle {
  const started: Component[] = [];
  const stopTimeoutMs = deps.stopTimeoutMs ?? 30_000;
  let stopping: Promise<void> | undefined;

  async function stopAll(): Promise<void> {
    while (started.length > 0) {
      const component = started.pop()!;
      const timer = new Promise<'timeout'>((resolve) =>
        setTimeout(resolve, stopTimeoutMs, 'timeout').unref(),
      );
      try {
        const outcome = await Promise.race([component.stop().then(() => 'stopped' as const), timer]);
        if (outcome === 'timeout') deps.log.warn({ component: component.name }, 'stop timed out; moving on');
        else deps.log.debug({ component: component.name }, 'stopped');
      } catch (error) {
        deps.log.error({ component: component.name, err: errorMessage(error) }, 'stop failed');
      }
    }
  }

  const lifecycle: Lifecycle = {
    async start() {
      for (const component of components) {
        try {
          await component.start();
        } catch (error) {
          deps.log.error({ component: component.name, err: errorMessage(error) }, 'start failed; stopping');
          await stopAll();
          throw error;
        }
        started.push(component);
        deps.log.debug({ component: component.name }, 'started');
      }
    },
    stop() {
      stopping ??= stopAll();
      return stopping;
    },
    async runUntilSignal() {
      await lifecycle.start();
      await new Promise<void>((resolve) => {
        const onSignal = (signal: NodeJS.Signals) => {
          deps.log.info({ signal }, 'stopping');
          process.off('SIGTERM', onSignal);
          process.off('SIGINT', onSignal);
          lifecycle.stop().then(resolve, resolve);
        };
        process.on('SIGTERM', onSignal);
        process.on('SIGINT', onSignal);
      });
    },
  };
  return lifecycle;
}
