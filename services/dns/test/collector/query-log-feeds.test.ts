/**
 * Query-log inputs of the collector: a log file followed through rotation and truncation, and syslog
 * datagrams sent by util-linux `logger` (RFC 5424 and 3164) carrying the recorded resolver lines.
 */

import { execFileSync } from 'node:child_process';
import {
  appendFileSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DnsQuery } from '@kansoku/contracts/gen/kansoku/dns/v1/dns_pb';
import { createMetricsRegistry, silentLogger } from '@kansoku/kit';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createDnsCollector } from '../../src/collector/collector.ts';
import { createFileFollower } from '../../src/collector/file-follower.ts';
import { createQueryLogFeeds } from '../../src/collector/query-log-feeds.ts';
import { memoryProducer, testConfig, until } from './helpers.ts';

const fixture = (name: string) =>
  readFileSync(join(import.meta.dirname, '..', 'decoders', 'fixtures', name), 'utf8')
    .split('\n')
    .filter((l) => l !== '');

let dir = '';
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'kansoku-dns-log-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function haveLogger(): boolean {
  try {
    execFileSync('logger', ['--help'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

describe('file follower', () => {
  it('reads appended lines, across rotation (old file first) and truncation, holding partial lines', async () => {
    const path = join(dir, 'resolver.log');
    writeFileSync(path, 'before start\n');
    const lines: string[] = [];
    const follower = createFileFollower(
      { path, fromStart: false, pollIntervalMs: 10_000, maxLineBytes: 1000 },
      (l) => lines.push(l),
    );
    await follower.start();
    appendFileSync(path, 'one\ntw');
    await follower.poll();
    expect(lines).toEqual(['one']);
    appendFileSync(path, 'o\n');
    // Rotation: the resolver writes a last line to the old file, which is moved, then a new file appears.
    appendFileSync(path, 'three (old file)\n');
    renameSync(path, `${path}.1`);
    await follower.poll(); // no file at the path: the old one is drained
    appendFileSync(`${path}.1`, 'four (old file, late)\n');
    writeFileSync(path, 'five (new file)\n');
    await follower.poll();
    expect(lines).toEqual(['one', 'two', 'three (old file)', 'four (old file, late)', 'five (new file)']);
    // Truncation (copytruncate): read again from the start.
    truncateSync(path, 0);
    await follower.poll();
    appendFileSync(path, 'six\n');
    await follower.poll();
    expect(lines.at(-1)).toBe('six');
    expect(follower.stats()).toMatchObject({ rotations: 1, truncations: 1, lines: 6 });
    await follower.stop();
  });

  it('waits for a file that does not exist yet and reads all of it when it comes', async () => {
    const path = join(dir, 'later.log');
    const lines: string[] = [];
    const follower = createFileFollower(
      { path, fromStart: false, pollIntervalMs: 10_000, maxLineBytes: 8 },
      (l) => lines.push(l),
    );
    await follower.start();
    writeFileSync(path, 'a\nbbbbbbbbbbbbbbbb');
    await follower.poll();
    expect(lines).toEqual(['a', 'bbbbbbbb']);
    expect(follower.stats().longLines).toBe(1);
    await follower.stop();
  });
});

describe('collector with a followed Unbound log', () => {
  it('publishes each query/reply pair once, and counts what it cannot read', async () => {
    const path = join(dir, 'unbound.log');
    writeFileSync(path, '');
    const producer = memoryProducer();
    const registry = createMetricsRegistry({ processMetrics: false });
    const collector = createDnsCollector(testConfig({ queryLogFile: path }), {
      producer,
      log: silentLogger(),
      metrics: registry,
    });
    await collector.start();
    try {
      appendFileSync(path, `${fixture('unbound-log-queries-replies.log').join('\n')}\nnot a resolver line\n`);
      await collector.queryLogs()!.pollFile();
      await until('13 records', () => producer.records.length === 13);
      expect(producer.records.every((r) => r.responseSeen && r.resolverIdentity === 'file:unbound.log')).toBe(
        true,
      );
      const metrics = await registry.getMetricsAsJSON();
      const unparsed = metrics.find(
        (m) => m.name === 'kansoku_dns_collector_query_log_unparsed_total',
      )!.values;
      expect(Object.fromEntries(unparsed.map((v) => [v.labels.reason, v.value]))).toEqual({
        'other-line': 4,
        'unknown-format': 1,
      });
      expect(collector.endpoints().map((e) => e.transport)).toContain('file');
    } finally {
      await collector.stop();
    }
  });
});

describe.skipIf(!haveLogger())('syslog listener', () => {
  it('takes resolver lines sent by logger in RFC 5424 and RFC 3164, identity from the host name', async () => {
    const records: DnsQuery[] = [];
    const feeds = createQueryLogFeeds(
      {
        queryLogFile: '',
        queryLogFromStart: false,
        syslogPort: 0,
        address: '127.0.0.1',
        pairingTimeoutMs: 10_000,
        maxPendingQueries: 100,
      },
      {
        log: silentLogger(),
        registry: createMetricsRegistry({ processMetrics: false }),
        emit: (r) => records.push(r),
      },
    );
    await feeds.start();
    try {
      const port = String(feeds.syslogPort());
      // What Unbound writes to syslog: the message without its own time and program (syslog adds those).
      const unbound = fixture('unbound-log-queries-replies.log')
        .slice(1, 3)
        .map((l) => l.replace(/^\[\d+\] unbound/, ''));
      const bind = fixture('bind-querylog.log')
        .slice(0, 2)
        .map((l) => l.replace(/^.* queries: info: /, ''));
      for (const line of unbound)
        execFileSync('logger', [
          '--rfc5424',
          '-d',
          '-n',
          '127.0.0.1',
          '-P',
          port,
          '-t',
          'unbound',
          '-p',
          'daemon.info',
          line,
        ]);
      for (const line of bind)
        execFileSync('logger', [
          '--rfc3164',
          '-d',
          '-n',
          '127.0.0.1',
          '-P',
          port,
          '-t',
          'named',
          '-p',
          'daemon.info',
          line,
        ]);
      await until('3 records', () => records.length === 3, 5000);
    } finally {
      await feeds.stop();
    }
    const [first, ...rest] = records;
    expect(first).toMatchObject({
      qname: 'www.example.test.',
      qtype: 1,
      responseSeen: true,
      rcode: 0,
      responseSizeBytes: 61,
    });
    expect(rest.map((r) => [r.qtype, r.clientPort, r.responseSeen])).toEqual([
      [1, 42845, false],
      [28, 55831, false],
    ]);
    // logger puts this host's name in the header; the time is the header's (now).
    expect(records.every((r) => r.resolverIdentity !== '' && r.resolverIdentity !== '127.0.0.1')).toBe(true);
    expect(Number(first!.timeQueryNs / 1_000_000n)).toBeGreaterThan(Date.now() - 60_000);
    expect(feeds.stats().unparsed).toEqual({});
  });
});
