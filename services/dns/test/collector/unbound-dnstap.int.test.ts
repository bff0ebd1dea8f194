/**
 * A real resolver as the sender: Debian's Unbound with dnstap (CLIENT_QUERY and CLIENT_RESPONSE) writing
 * to the collector over TCP and over the unix socket, answering `dig` from local data (no internet). Every
 * dig query must come out as one paired record with Unbound's identity, the right name, type, rcode,
 * transport and DO bit.
 */

import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatIpAddress } from '@kansoku/contracts/ip-address';
import { createMetricsRegistry, silentLogger } from '@kansoku/kit';
import { describe, expect, it } from 'vitest';
import { createDnsCollector } from '../../src/collector/collector.ts';
import { memoryProducer, testConfig, until } from './helpers.ts';

function available(command: string, args: string[]): boolean {
  try {
    execFileSync(command, args, { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const haveTools = available('unbound', ['-V']) && available('dig', ['-v']);
if (!haveTools) console.warn('unbound or dig not installed: the real-resolver dnstap test is skipped');

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function dig(port: number, args: string[]): string {
  return execFileSync('dig', ['+tries=1', '+time=5', '-p', String(port), ...args], { encoding: 'utf8' });
}

describe.skipIf(!haveTools)('Unbound dnstap → collector', () => {
  for (const transport of ['tcp', 'unix'] as const) {
    it(`pairs Unbound's client queries and responses over ${transport}`, async () => {
      const dir = mkdtempSync(join(tmpdir(), 'kansoku-unbound-'));
      const socketPath = join(dir, 'dnstap.sock');
      const producer = memoryProducer();
      const checked = () => producer.records.filter((r) => r.qname !== 'warm-up.example.test.');
      const collector = createDnsCollector(
        testConfig({ unixSocketPath: transport === 'unix' ? socketPath : '' }),
        {
          producer,
          log: silentLogger(),
          metrics: createMetricsRegistry({ processMetrics: false }),
        },
      );
      await collector.start();
      const dnsPort = await freePort();
      const target =
        transport === 'tcp'
          ? `  dnstap-ip: "127.0.0.1@${collector.tcpPort()}"\n  dnstap-tls: no`
          : `  dnstap-socket-path: "${socketPath}"`;
      writeFileSync(
        join(dir, 'unbound.conf'),
        `server:
  interface: 127.0.0.1
  interface: ::1
  port: ${dnsPort}
  do-daemonize: no
  username: ""
  chroot: ""
  directory: "${dir}"
  pidfile: "${dir}/unbound.pid"
  logfile: "${dir}/unbound.log"
  use-syslog: no
  do-not-query-localhost: yes
  access-control: 127.0.0.0/8 allow
  access-control: ::1/128 allow
  module-config: "iterator"
  local-zone: "example.test." static
  local-data: "www.example.test. 300 IN A 192.0.2.10"
  local-data: "www.example.test. 300 IN AAAA 2001:db8::10"
stub-zone:
  name: "broken.kansoku."
  stub-addr: 127.0.0.1@9
dnstap:
  dnstap-enable: yes
${target}
  dnstap-send-identity: yes
  dnstap-identity: "unbound-${transport}"
  dnstap-log-client-query-messages: yes
  dnstap-log-client-response-messages: yes
`,
      );
      let unbound: ChildProcess | undefined;
      try {
        unbound = spawn('unbound', ['-d', '-c', join(dir, 'unbound.conf')], { stdio: 'ignore' });
        // Unbound connects its dnstap output lazily: query until a record shows the path is up, then start clean.
        await until('the first record', () => {
          if (producer.records.length > 0) return true;
          try {
            dig(dnsPort, ['@127.0.0.1', 'warm-up.example.test', 'A']);
          } catch {
            // Not answering yet.
          }
          return false;
        });
        producer.records.length = 0;
        dig(dnsPort, ['@127.0.0.1', 'www.example.test', 'A']);
        dig(dnsPort, ['@127.0.0.1', 'nope.example.test', 'AAAA']);
        dig(dnsPort, ['@127.0.0.1', 'a.broken.kansoku', 'A']);
        dig(dnsPort, ['@::1', 'www.example.test', 'AAAA', '+tcp', '+dnssec']);
        // Warm-up queries still in flight may land after the clear: they are left out by name.
        await until('4 records', () => checked().length >= 4, 15_000);
      } finally {
        unbound?.kill('SIGTERM');
        await collector.stop();
        rmSync(dir, { recursive: true, force: true });
      }
      const seen = checked().map((r) => [
        formatIpAddress(r.clientAddress),
        r.qname,
        r.qtype,
        r.rcode,
        r.transport,
        r.dnssecOk,
        r.responseSeen,
        r.resolverIdentity,
      ]);
      expect(seen).toEqual([
        ['127.0.0.1', 'www.example.test.', 1, 0, 1, false, true, `unbound-${transport}`],
        ['127.0.0.1', 'nope.example.test.', 28, 3, 1, false, true, `unbound-${transport}`],
        ['127.0.0.1', 'a.broken.kansoku.', 1, 2, 1, false, true, `unbound-${transport}`],
        ['::1', 'www.example.test.', 28, 0, 2, true, true, `unbound-${transport}`],
      ]);
      for (const r of checked()) {
        expect(r.responseTimeUs).toBeGreaterThan(0n);
        expect(r.querySizeBytes).toBeGreaterThan(12);
        expect(r.clientPort).toBeGreaterThan(0);
      }
      expect(collector.disconnects()).toEqual({});
    });
  }
});
