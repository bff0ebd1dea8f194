/**
 * A paced UDP replayer of simulator-made export packets, run in a child process so the sender does not share
 * the receiver's event loop: `const r = await startReplayer(options)` forks it and waits until its packets are
 * made, `await r.run()` starts the timed replay and resolves with what was sent.
 */
import { fork } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BenchProtocol } from './packets.ts';

export interface ReplayTarget {
  address: string;
  port: number;
}

export interface ReplayOptions {
  protocol: BenchProtocol;
  targets: ReplayTarget[];
  /** Records per second (the setup packet's records are sent before the timed part and not paced). */
  recordsPerSecond: number;
  seconds: number;
  /** Local address the packets come from: the exporter the collector sees (127.0.0.0/8 works on Linux). */
  sourceAddress: string;
  /** Distinct data packets, replayed in a loop. */
  poolPackets: number;
  seed: number;
  domainId: number;
  maxBurstPackets: number;
}

export interface ReplayerReport {
  type: 'done';
  /** Packets handed to the kernel, setup packet included, per target. */
  packets: number;
  /** Records in them, per target. */
  records: number;
  sendErrors: number;
  seconds: number;
  /** Records per second of the timed part. */
  achievedRecordsPerSecond: number;
  /** Time the sender could not keep up (its backlog above a burst); non-zero: the sender limited the rate. */
  behindMs: number;
}

export type ReplayerMessage =
  | { type: 'start'; options: ReplayOptions }
  | { type: 'ready' }
  | { type: 'go' }
  | ReplayerReport
  | { type: 'error'; message: string };

export const DEFAULT_REPLAY: Pick<ReplayOptions, 'poolPackets' | 'seed' | 'domainId' | 'maxBurstPackets'> = {
  poolPackets: 2000,
  seed: 1,
  domainId: 1,
  maxBurstPackets: 64,
};

export interface Replayer {
  run(): Promise<ReplayerReport>;
  kill(): void;
}

const childPath = path.join(path.dirname(fileURLToPath(import.meta.url)), 'replayer-child.ts');

export async function startReplayer(options: ReplayOptions): Promise<Replayer> {
  // The child inherits this process's loader flags (tsx), so it runs the .ts file as this process does.
  const child = fork(childPath, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const next = () =>
    new Promise<ReplayerMessage>((resolve, reject) => {
      const onExit = (code: number | null) => reject(new Error(`replayer exited with code ${code}`));
      child.once('exit', onExit);
      child.once('message', (message: ReplayerMessage) => {
        child.off('exit', onExit);
        resolve(message);
      });
    });
  const ready = next();
  child.send({ type: 'start', options } satisfies ReplayerMessage);
  const first = await ready;
  if (first.type === 'error') throw new Error(`replayer: ${first.message}`);
  return {
    async run() {
      const done = next();
      child.send({ type: 'go' } satisfies ReplayerMessage);
      const report = await done;
      if (report.type !== 'done') {
        throw new Error(`replayer: ${report.type === 'error' ? report.message : report.type}`);
      }
      return report;
    },
    kill() {
      if (child.exitCode === null) child.kill();
    },
  };
}
