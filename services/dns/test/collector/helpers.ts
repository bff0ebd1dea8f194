/**
 * Shared parts of the collector tests: a config on free ports, dnstap frames of a query and its response
 * as a resolver writes them, and a producer that keeps what it is sent.
 */

import { fromBinary } from '@bufbuild/protobuf';
import type { DnsQuery } from '@kansoku/contracts/gen/kansoku/dns/v1/dns_pb';
import { DnsQueryBatchSchema } from '@kansoku/contracts/gen/kansoku/dns/v2/dns_pb';
import type { KafkaProducer, OutgoingMessage } from '@kansoku/kit';
import { Value } from '@sinclair/typebox/value';
import { type DnsCollectorConfig, dnsCollectorSchema } from '../../src/collector/config.ts';
import {
  buildDnsQuery,
  buildDnsResponse,
  type QuerySpec,
  type ResponseSpec,
} from '../../src/decoders/dns-build.ts';
import { DnstapMessageType, encodeDnstap, SocketProtocol } from '../../src/decoders/dnstap.ts';

export function testConfig(overrides: Partial<DnsCollectorConfig> = {}): DnsCollectorConfig {
  return { ...(Value.Default(dnsCollectorSchema, {}) as DnsCollectorConfig), port: 0, ...overrides };
}

export interface Exchange {
  client: Uint8Array;
  clientPort: number;
  query: QuerySpec;
  response?: ResponseSpec;
  /** Seconds and nanoseconds of the query; the response comes `latencyUs` later. */
  timeSec: number;
  timeNsec: number;
  latencyUs: number;
  protocol?: number;
}

export const RESOLVER = Uint8Array.from([192, 0, 2, 53]);

/** CLIENT_QUERY and CLIENT_RESPONSE frames of one exchange, as Unbound writes them. */
export function exchangeFrames(e: Exchange, identity = 'resolver-1'): [Buffer, Buffer] {
  const query = buildDnsQuery(e.query);
  const response = buildDnsResponse(e.query, e.response);
  const responseNs = e.timeNsec + e.latencyUs * 1000;
  const common = {
    socketFamily: e.client.length === 4 ? 1 : 2,
    socketProtocol: e.protocol ?? SocketProtocol.UDP,
    queryAddress: e.client,
    queryPort: e.clientPort,
    responseAddress: e.client.length === 4 ? RESOLVER : new Uint8Array(16).fill(1),
    responsePort: 53,
  };
  return [
    encodeDnstap({
      identity,
      version: 'test',
      message: {
        ...common,
        type: DnstapMessageType.CLIENT_QUERY,
        queryTimeSec: e.timeSec,
        queryTimeNsec: e.timeNsec,
        queryMessage: query,
      },
    }),
    encodeDnstap({
      identity,
      version: 'test',
      message: {
        ...common,
        type: DnstapMessageType.CLIENT_RESPONSE,
        responseTimeSec: e.timeSec + Math.floor(responseNs / 1e9),
        responseTimeNsec: responseNs % 1e9,
        responseMessage: response,
      },
    }),
  ];
}

/** What the collector must publish for an exchange (times received aside). */
export function expectedRecord(e: Exchange, identity = 'resolver-1'): Partial<DnsQuery> {
  const query = buildDnsQuery(e.query);
  const response = buildDnsResponse(e.query, e.response);
  return {
    timeQueryNs: BigInt(e.timeSec) * 1_000_000_000n + BigInt(e.timeNsec),
    clientPort: e.clientPort,
    serverPort: 53,
    ipVersion: e.client.length === 4 ? 1 : 2,
    transport: e.protocol === SocketProtocol.TCP ? 2 : 1,
    messageId: e.query.id,
    qname: `${e.query.name.toLowerCase()}${e.query.name.endsWith('.') ? '' : '.'}`,
    qtype: e.query.type,
    qclass: 1,
    recursionDesired: e.query.recursionDesired !== false,
    dnssecOk: e.query.edns?.dnssecOk ?? false,
    querySizeBytes: query.length,
    responseSeen: true,
    rcode: e.response?.rcode ?? 0,
    responseTimeUs: BigInt(e.latencyUs),
    responseSizeBytes: response.length,
    answerCount: e.response?.answers ?? 0,
    truncated: e.response?.truncated ?? false,
    source: 1,
    resolverIdentity: identity,
  };
}

/**
 * A producer that keeps every message's queries (decoded with the generic decoder) instead of sending them;
 * `keys` has the key of each query's message, `messages` counts messages.
 */
export function memoryProducer(): Pick<KafkaProducer, 'send'> & {
  records: DnsQuery[];
  keys: string[];
  messages: () => number;
} {
  const records: DnsQuery[] = [];
  const keys: string[] = [];
  let messages = 0;
  return {
    records,
    keys,
    messages: () => messages,
    async send(_topic: string, sent: OutgoingMessage[]) {
      for (const m of sent) {
        messages++;
        // A plain copy: fromBinary of a Buffer gives Buffer views for bytes fields.
        for (const q of fromBinary(DnsQueryBatchSchema, new Uint8Array(m.value)).queries) {
          records.push(q);
          keys.push(String(m.key));
        }
      }
    },
  };
}

export async function until(what: string, predicate: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
