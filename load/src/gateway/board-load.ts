/**
 * Drives the flows board's requests at a fixed rate with autocannon, in a child process so the load
 * generator's event loop is not the gateway's (the gateway and the embedded ClickHouse stay in the
 * benchmark's process, as `kansoku up` runs them). Latencies are autocannon's, corrected for
 * coordinated omission: a request that could not be sent on time counts from when it was due.
 */
import { fork } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export interface BoardLoadOptions {
  /** Gateway base URL, e.g. http://127.0.0.1:8080. */
  url: string;
  token: string;
  rate: number;
  seconds: number;
  connections: number;
  /** Seed of the panel and range draw. */
  seed: number;
  timeoutSeconds: number;
}

export interface BoardLoadReport {
  requests: number;
  rps: number;
  p50_ms: number;
  p90_ms: number;
  p99_ms: number;
  max_ms: number;
  mean_ms: number;
  /** Responses other than 2xx, plus socket errors and timeouts. */
  errors: number;
  non2xx: number;
  socketErrors: number;
  timeouts: number;
  statusCodes: Record<string, number>;
  /** X-Kansoku-Cache of the 200 responses. */
  cacheOutcomes: Record<string, number>;
  /** Requests per board range and panel query, for the table. */
  byRange: Record<string, number>;
}

export type DriverMessage =
  | { type: 'run'; options: BoardLoadOptions }
  | { type: 'done'; report: BoardLoadReport }
  | { type: 'error'; message: string };

const childPath = path.join(path.dirname(fileURLToPath(import.meta.url)), 'board-load-child.ts');

export function runBoardLoad(options: BoardLoadOptions): Promise<BoardLoadReport> {
  // The child inherits this process's loader flags (tsx), so it runs the .ts file as this process does.
  const child = fork(childPath, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return new Promise<BoardLoadReport>((resolve, reject) => {
    const onExit = (code: number | null) => reject(new Error(`load driver exited with code ${code}`));
    child.once('exit', onExit);
    child.once('message', (message: DriverMessage) => {
      child.off('exit', onExit);
      child.kill();
      if (message.type === 'done') resolve(message.report);
      else reject(new Error(`load driver: ${message.type === 'error' ? message.message : message.type}`));
    });
    child.send({ type: 'run', options } satisfies DriverMessage);
  });
}
