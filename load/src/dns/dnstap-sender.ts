/**
 * A paced dnstap sender over Frame Streams (TCP), run in a child process so the load does not share the
 * collector's event loop: `startDnstapSender(options)` forks it and waits until its frames are made,
 * `run()` starts the timed send and resolves with what was sent. The frames are a pool of simulator-made
 * query/response pairs (CLIENT_QUERY + CLIENT_RESPONSE, the report's mix), encoded once with the step's
 * resolver identity and sent in a loop; query times are the pool's creation time, so a step's rows land in
 * one or two minute buckets, and the identity tells steps apart in ClickHouse.
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { dataFrames, encodeQueryFrames, openFrameStreamClient } from '../../../services/dns/src/index.ts';
import { createQueryGenerator } from '../../../services/dns/src/simulator/query-generator.ts';

export interface SenderOptions {
  host: string;
  port: number;
  /** dnstap messages per second (two per query: CLIENT_QUERY and CLIENT_RESPONSE). */
  messagesPerSecond: number;
  seconds: number;
  identity: string;
  /** Distinct queries in the pool. */
  poolQueries: number;
  sources: number;
  seed: number;
}

export interface SenderReport {
  type: 'done';
  /** dnstap messages (frames) written to the socket. */
  messages: number;
  /** Query/response pairs among them: the DnsQuery records the collector should publish. */
  queries: number;
  seconds: number;
  achievedMessagesPerSecond: number;
  /** Time the sender could not keep up with its schedule (socket backpressure or CPU). */
  behindMs: number;
  /** CPU seconds the sender used during the timed send (user + system). */
  cpuSeconds: number;
}

type Message =
  | { type: 'start'; options: SenderOptions }
  | { type: 'ready' }
  | { type: 'go' }
  | SenderReport
  | { type: 'error'; message: string };

const TICK_MS = 5;

async function child(): Promise<void> {
  const options = await new Promise<SenderOptions>((resolve) => {
    process.once('message', (m: Message) => {
      if (m.type === 'start') resolve(m.options);
    });
  });
  const generator = createQueryGenerator({
    seed: options.seed,
    sources: options.sources,
    ipv6Share: 0.3,
    nxdomainShare: 0.03,
    servfailShare: 0.002,
    unansweredShare: 0,
    activitySigma: 1,
    zones: 5000,
  });
  const identity = Buffer.from(options.identity);
  const now = Date.now();
  // Every pooled query is answered: each pair becomes exactly one DnsQuery record.
  const pairs: Buffer[] = [];
  for (let i = 0; i < options.poolQueries; i++) {
    const q = generator.next(now + i / 100);
    pairs.push(dataFrames(encodeQueryFrames({ ...q, responseUs: q.responseUs ?? 500 }, identity)));
  }
  const client = await openFrameStreamClient({ host: options.host, port: options.port });
  process.send?.({ type: 'ready' } satisfies Message);
  await new Promise<void>((resolve) => {
    process.once('message', (m: Message) => {
      if (m.type === 'go') resolve();
    });
  });
  const pairsPerSecond = options.messagesPerSecond / 2;
  const cpuBefore = process.cpuUsage();
  const start = performance.now();
  const end = start + options.seconds * 1000;
  let sentPairs = 0;
  let next = 0;
  let behindMs = 0;
  for (;;) {
    const t = performance.now();
    if (t >= end) break;
    const due = Math.floor(((t - start) / 1000) * pairsPerSecond);
    // At most 50 ms of traffic per write: a sender that fell behind catches up gradually.
    const owed = due - sentPairs;
    const burst = Math.min(owed, Math.max(1, Math.ceil(pairsPerSecond / 20)));
    if (owed > burst) behindMs += TICK_MS;
    if (burst > 0) {
      const chunk: Buffer[] = [];
      for (let i = 0; i < burst; i++) {
        chunk.push(pairs[next] as Buffer);
        next = (next + 1) % pairs.length;
      }
      await client.write(Buffer.concat(chunk));
      sentPairs += burst;
    }
    const wait = TICK_MS - (performance.now() - t);
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  }
  const seconds = (performance.now() - start) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  await client.close(30_000);
  process.send?.({
    type: 'done',
    messages: sentPairs * 2,
    queries: sentPairs,
    seconds,
    achievedMessagesPerSecond: (sentPairs * 2) / seconds,
    behindMs,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
  } satisfies Message);
}

export interface DnstapSender {
  run(): Promise<SenderReport>;
  kill(): void;
}

export async function startDnstapSender(options: SenderOptions): Promise<DnstapSender> {
  const childPath = fileURLToPath(import.meta.url);
  const proc = fork(childPath, ['--child'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const failed = new Promise<never>((_, reject) => {
    proc.on('message', (m: Message) => {
      if (m.type === 'error') reject(new Error(m.message));
    });
    proc.once('exit', (code) => reject(new Error(`dnstap sender exited with ${code}`)));
  });
  failed.catch(() => undefined);
  const ready = new Promise<void>((resolve) => {
    proc.on('message', (m: Message) => {
      if (m.type === 'ready') resolve();
    });
  });
  proc.send({ type: 'start', options } satisfies Message);
  await Promise.race([ready, failed]);
  return {
    async run() {
      const done = new Promise<SenderReport>((resolve) => {
        proc.on('message', (m: Message) => {
          if (m.type === 'done') resolve(m);
        });
      });
      proc.send({ type: 'go' } satisfies Message);
      return Promise.race([done, failed]);
    },
    kill() {
      if (proc.exitCode === null) proc.kill();
    },
  };
}

if (process.argv.includes('--child')) {
  child().then(
    () => process.exit(0),
    (error: unknown) => {
      process.send?.({ type: 'error', message: String(error) } satisfies Message);
      process.exit(1);
    },
  );
}
