/**
 * The collector's query-log inputs: a resolver log file followed like `tail -F`, and a syslog UDP port
 * (RFC 5424 or 3164) a resolver's syslog forwards to. Lines of both go through one assembler, so an
 * Unbound query and its reply line pair whichever way they came. The resolver identity is the syslog
 * sender's host name, or `file:<name>` for the file.
 *
 * The assembler's clock is the lines' own time; when lines stop, a timer moves it on by the wall time that
 * passed since the last line, so a query whose reply line never comes is still published.
 */

import { basename } from 'node:path';
import type { DnsQuery } from '@kansoku/contracts/gen/kansoku/dns/v1/dns_pb';
import { errorMessage, type Logger, type Registry } from '@kansoku/kit';
import { createUdpListener, type UdpListener } from '@kansoku/kit/net/index';
import { QueryLogAssembler, type QueryLogStats } from '../decoders/query-log.ts';
import { parseSyslog } from '../decoders/syslog.ts';
import type { DnsCollectorConfig } from './config.ts';
import { createFileFollower, type FileFollower } from './file-follower.ts';

export interface QueryLogFeeds {
  start(): Promise<void>;
  stop(): Promise<void>;
  stats(): QueryLogStats;
  endpoints(): Array<{ kind: 'query-log' | 'syslog'; transport: 'file' | 'udp'; where: string }>;
  /** The syslog port (after start), when configured. */
  syslogPort(): number | undefined;
  /** Reads the followed file now (tests). */
  pollFile(): Promise<void>;
}

const NS_PER_MS = 1_000_000n;
const POLL_INTERVAL_MS = 250;
const IDLE_EXPIRE_INTERVAL_MS = 1000;

export function createQueryLogFeeds(
  config: Pick<
    DnsCollectorConfig,
    'queryLogFile' | 'queryLogFromStart' | 'syslogPort' | 'address' | 'pairingTimeoutMs' | 'maxPendingQueries'
  >,
  deps: { log: Logger; registry: Registry; emit: (record: DnsQuery) => void },
): QueryLogFeeds {
  const assembler = new QueryLogAssembler(
    { pairingTimeoutMs: config.pairingTimeoutMs, maxPending: config.maxPendingQueries },
    deps.emit,
  );
  let lastLineWallMs = Date.now();
  let lastLineClockMs = 0;
  const onLine = (text: string, origin: string, headerTimeNs?: bigint) => {
    const now = Date.now();
    assembler.line(text, origin, BigInt(now) * NS_PER_MS, headerTimeNs);
    lastLineWallMs = now;
    lastLineClockMs = assembler.clock();
  };

  let follower: FileFollower | undefined;
  if (config.queryLogFile !== '') {
    const origin = `file:${basename(config.queryLogFile)}`;
    follower = createFileFollower(
      {
        path: config.queryLogFile,
        fromStart: config.queryLogFromStart,
        pollIntervalMs: POLL_INTERVAL_MS,
        maxLineBytes: 16 * 1024,
      },
      (line) => onLine(line, origin),
      (error) =>
        deps.log.warn({ path: config.queryLogFile, error: errorMessage(error) }, 'query log file unreadable'),
    );
  }

  let syslog: UdpListener | undefined;
  if (config.syslogPort >= 0) {
    syslog = createUdpListener(
      { name: 'dns-syslog', address: config.address, port: config.syslogPort },
      {
        registry: deps.registry,
        logger: deps.log,
        onDatagram(datagram, rinfo) {
          const message = parseSyslog(datagram.toString('utf8'));
          // One datagram may carry several lines (some relays batch them).
          for (const line of message.message.split('\n')) {
            if (line === '') continue;
            onLine(line, message.hostname || rinfo.address, message.timeNs);
          }
        },
      },
    );
  }

  let timer: NodeJS.Timeout | undefined;
  return {
    async start() {
      await follower?.start();
      await syslog?.start();
      timer = setInterval(() => {
        assembler.expire(lastLineClockMs + (Date.now() - lastLineWallMs));
      }, IDLE_EXPIRE_INTERVAL_MS);
      timer.unref();
    },
    async stop() {
      if (timer !== undefined) clearInterval(timer);
      timer = undefined;
      await Promise.all([follower?.stop(), syslog?.stop()]);
      assembler.flush();
    },
    stats: () => assembler.stats(),
    endpoints() {
      const out: ReturnType<QueryLogFeeds['endpoints']> = [];
      if (follower !== undefined)
        out.push({ kind: 'query-log', transport: 'file', where: config.queryLogFile });
      if (syslog !== undefined) {
        try {
          const a = syslog.address();
          out.push({ kind: 'syslog', transport: 'udp', where: `${a.address}:${a.port}` });
        } catch {
          // Not bound.
        }
      }
      return out;
    },
    syslogPort() {
      if (syslog === undefined) return undefined;
      return syslog.address().port;
    },
    pollFile: async () => {
      await follower?.poll();
    },
  };
}
