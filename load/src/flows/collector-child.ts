/**
 * Our flows collector in a process of its own (forked by collector-process.ts), as a deployment that takes
 * hundreds of thousands of flows a second runs it: the receive loop must not wait behind the processor's
 * ClickHouse inserts, which are synchronous in embedded chDB. Answers the parent's requests over IPC.
 */
import type { CollectorRequest, CollectorResponse, CollectorStartOptions } from './collector-process.ts';
import { startOurCollector } from './our-collector.ts';

function reply(message: CollectorResponse): void {
  process.send?.(message);
}

async function main(options: CollectorStartOptions): Promise<void> {
  const ours = await startOurCollector(options);
  let peakRss = process.memoryUsage().rss;
  const memoryTimer = setInterval(() => {
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
  }, 500);
  process.on('message', (request: CollectorRequest) => {
    void (async () => {
      if (request.type === 'counts') {
        reply({ id: request.id, type: 'counts', counts: ours.collector.publisher.counts() });
      } else if (request.type === 'usage') {
        const cpu = process.cpuUsage();
        reply({ id: request.id, type: 'usage', peakRss, cpuUserUs: cpu.user, cpuSystemUs: cpu.system });
      } else if (request.type === 'stop') {
        clearInterval(memoryTimer);
        await ours.settle(10_000);
        await ours.stop();
        reply({ id: request.id, type: 'stopped', counts: ours.collector.publisher.counts() });
        process.disconnect();
      }
    })();
  });
  reply({ id: 0, type: 'ready', ipfixPort: ours.ipfixPort });
}

process.once('message', (options: CollectorStartOptions) => {
  main(options).catch((error: unknown) => {
    reply({ id: 0, type: 'error', message: error instanceof Error ? error.message : String(error) });
    process.exitCode = 1;
    process.disconnect();
  });
});
