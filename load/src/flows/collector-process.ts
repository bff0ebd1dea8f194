/**
 * Starts our flows collector in a child process (collector-child.ts) and talks to it over IPC: its IPFIX port,
 * its publisher counts, its CPU time and peak RSS, and a stop that waits for Kafka's acknowledgements.
 */
import { fork } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { PublisherCounts } from '@kansoku/flows/collector/publisher';
import type { KafkaConnectionConfig } from '@kansoku/kit';

export interface CollectorStartOptions {
  kafka: KafkaConnectionConfig;
  topic: string;
  recvBufferSize: number;
}

export type CollectorRequest = { id: number; type: 'counts' | 'usage' | 'stop' };

export type CollectorResponse =
  | { id: number; type: 'ready'; ipfixPort: number }
  | { id: number; type: 'error'; message: string }
  | { id: number; type: 'counts' | 'stopped'; counts: PublisherCounts }
  | { id: number; type: 'usage'; peakRss: number; cpuUserUs: number; cpuSystemUs: number };

export interface CollectorUsage {
  peakRss: number;
  cpuUserUs: number;
  cpuSystemUs: number;
}

export interface CollectorProcess {
  ipfixPort: number;
  pid: number;
  counts(): Promise<PublisherCounts>;
  usage(): Promise<CollectorUsage>;
  /** Stops the collector after its queued records are acknowledged; returns its final counts. */
  stop(): Promise<PublisherCounts>;
}

const childPath = path.join(path.dirname(fileURLToPath(import.meta.url)), 'collector-child.ts');

export async function startCollectorProcess(options: CollectorStartOptions): Promise<CollectorProcess> {
  // The child inherits this process's loader flags (tsx), so it runs the .ts file as this process does.
  // KANSOKU_BENCH_CPU_PROF_DIR: the collector writes a V8 CPU profile there when it stops.
  const profileDir = process.env.KANSOKU_BENCH_CPU_PROF_DIR;
  const execArgv = [
    ...process.execArgv,
    ...(profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : []),
  ];
  const child = fork(childPath, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv });
  const waiting = new Map<number, (response: CollectorResponse) => void>();
  let nextId = 1;
  let exited: Error | undefined;
  child.on('message', (response: CollectorResponse) => {
    waiting.get(response.id)?.(response);
    waiting.delete(response.id);
  });
  child.on('exit', (code) => {
    exited = new Error(`flows collector process exited with code ${code}`);
    for (const resolve of waiting.values()) resolve({ id: -1, type: 'error', message: exited.message });
    waiting.clear();
  });
  const response = (id: number) =>
    new Promise<CollectorResponse>((resolve) => {
      if (exited) resolve({ id, type: 'error', message: exited.message });
      else waiting.set(id, resolve);
    });
  const ready = response(0);
  child.send(options);
  const first = await ready;
  if (first.type !== 'ready') {
    child.kill();
    throw new Error(`flows collector process: ${first.type === 'error' ? first.message : first.type}`);
  }
  const ask = async (type: CollectorRequest['type']): Promise<CollectorResponse> => {
    const id = nextId++;
    const answer = response(id);
    child.send({ id, type } satisfies CollectorRequest);
    const result = await answer;
    if (result.type === 'error') throw new Error(`flows collector process: ${result.message}`);
    return result;
  };
  return {
    ipfixPort: first.ipfixPort,
    pid: child.pid ?? 0,
    async counts() {
      const r = await ask('counts');
      if (r.type !== 'counts') throw new Error(`flows collector process answered ${r.type}`);
      return r.counts;
    },
    async usage() {
      const r = await ask('usage');
      if (r.type !== 'usage') throw new Error(`flows collector process answered ${r.type}`);
      return { peakRss: r.peakRss, cpuUserUs: r.cpuUserUs, cpuSystemUs: r.cpuSystemUs };
    },
    async stop() {
      try {
        const r = await ask('stop');
        if (r.type !== 'stopped') throw new Error(`flows collector process answered ${r.type}`);
        return r.counts;
      } finally {
        setTimeout(() => {
          if (child.exitCode === null) child.kill();
        }, 2000).unref();
      }
    },
  };
}
