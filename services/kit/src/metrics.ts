import { createServer, type Server } from 'node:http';
import {
  Counter,
  type CounterConfiguration,
  collectDefaultMetrics,
  Gauge,
  type GaugeConfiguration,
  Histogram,
  type HistogramConfiguration,
  Registry,
} from 'prom-client';
import type { Component } from './lifecycle.ts';

export { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/*
 * Metrics that several components of one process share. With every service in one process (`kansoku up`),
 * two processors each make a warehouse sink, two collectors each a publisher: the second must find the metric
 * the first registered (prom-client refuses a name twice) and count under its own label values.
 */
export function sharedCounter<L extends string>(
  registry: Registry,
  config: Omit<CounterConfiguration<L>, 'registers'>,
): Counter<L> {
  return (
    (registry.getSingleMetric(config.name) as Counter<L> | undefined) ??
    new Counter({ ...config, registers: [registry] })
  );
}

export function sharedGauge<L extends string>(
  registry: Registry,
  config: Omit<GaugeConfiguration<L>, 'registers'>,
): Gauge<L> {
  return (
    (registry.getSingleMetric(config.name) as Gauge<L> | undefined) ??
    new Gauge({ ...config, registers: [registry] })
  );
}

export function sharedHistogram<L extends string>(
  registry: Registry,
  config: Omit<HistogramConfiguration<L>, 'registers'>,
): Histogram<L> {
  return (
    (registry.getSingleMetric(config.name) as Histogram<L> | undefined) ??
    new Histogram({ ...config, registers: [registry] })
  );
}

/** One registry per process, with Node's process metrics; every component registers on it. */
export function createMetricsRegistry(options: { processMetrics?: boolean } = {}): Registry {
  const registry = new Registry();
  if (options.processMetrics ?? true) collectDefaultMetrics({ register: registry, prefix: 'kansoku_' });
  return registry;
}

/**
 * A bare `/metrics` endpoint for services without an HTTP server of their own (collectors and
 * processors run alone with `kansoku run <service>`). The gateway serves its registry itself.
 */
export function createMetricsServer(
  config: { host: string; port: number },
  deps: { metrics: Registry },
): Component & {
  port(): number;
} {
  let server: Server | undefined;
  return {
    name: 'metrics-server',
    async start() {
      server = createServer((req, res) => {
        if (req.url !== '/metrics') {
          res.writeHead(404).end('only /metrics is served here\n');
          return;
        }
        deps.metrics.metrics().then(
          (body) => res.writeHead(200, { 'content-type': deps.metrics.contentType }).end(body),
          (error: unknown) => res.writeHead(500).end(String(error)),
        );
      });
      await new Promise<void>((resolve, reject) => {
        server?.once('error', reject);
        server?.listen(config.port, config.host, () => resolve());
      });
    },
    async stop() {
      await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    },
    port() {
      const address = server?.address();
      return typeof address === 'object' && address ? address.port : 0;
    },
  };
}
