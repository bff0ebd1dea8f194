import { readdirSync, readFileSync } from 'node:fs';
import {
  clone,
  create,
  type DescField,
  type DescMessage,
  equals,
  fromBinary,
  isFieldSet,
  type Message,
  toBinary,
} from '@bufbuild/protobuf';
import { describe, expect, it } from 'vitest';
import { PeerSchema, RouteUpdateSchema } from '../src/gen/kansoku/bgp/v1/bgp_pb.ts';
import { RouteUpdateBatchSchema } from '../src/gen/kansoku/bgp/v2/bgp_pb.ts';
import { DnsQuerySchema } from '../src/gen/kansoku/dns/v1/dns_pb.ts';
import { DnsQueryBatchSchema } from '../src/gen/kansoku/dns/v2/dns_pb.ts';
import { FlowRecordSchema } from '../src/gen/kansoku/flows/v1/flows_pb.ts';
import { FlowRecordBatchSchema } from '../src/gen/kansoku/flows/v2/flows_pb.ts';
import { EntitySchema } from '../src/gen/kansoku/threats/v1/threats_pb.ts';
import {
  allTopics,
  decode,
  encode,
  encodeRouteUpdateBatch,
  forEachRouteUpdate,
  keyOf,
  type RegisteredTopic,
  TOPIC_NAME_PATTERN,
  type Topic,
  TopicDecodeError,
  TopicMessageMismatchError,
  topicByName,
  topics,
  UnknownTopicError,
} from '../src/index.ts';
import { parseIpAddress } from '../src/ip-address.ts';
import { type GoldenFixture, goldenFixtures } from './golden/fixtures.ts';
import { GOLDEN_DIR, goldenPath, parseHex } from './golden/vectors.ts';

function readGolden(fixture: GoldenFixture): Uint8Array {
  return parseHex(readFileSync(goldenPath(fixture.name), 'utf8'));
}

function fixturesOf(schema: DescMessage): GoldenFixture[] {
  return goldenFixtures.filter((fixture) => fixture.schema.typeName === schema.typeName);
}

/** The fixtures of messages a topic carries (FlowRecord travels inside FlowRecordBatch, not on its own). */
const topicFixtures = goldenFixtures.filter((fixture) =>
  allTopics.some((topic) => topic.schema.typeName === fixture.schema.typeName),
);

function fixtureOf(schema: DescMessage): GoldenFixture {
  const [first] = fixturesOf(schema);
  if (!first) throw new Error(`no golden fixture for ${schema.typeName}`);
  return first;
}

type AnyRecord = Record<string, unknown>;

function fieldValue(message: Message, field: DescField): unknown {
  const record = message as unknown as AnyRecord;
  if (field.oneof) {
    const selected = record[field.oneof.localName] as { case: string | undefined; value?: unknown };
    return selected.case === field.localName ? selected.value : undefined;
  }
  return record[field.localName];
}

/** Collects `<message type>.<field>` for every field set anywhere in the message tree. */
function collectSetFields(schema: DescMessage, message: Message, into: Set<string>): void {
  for (const field of schema.fields) {
    if (!isFieldSet(message, field)) continue;
    into.add(`${schema.typeName}.${field.name}`);
    if (field.fieldKind === 'message') {
      collectSetFields(field.message, fieldValue(message, field) as Message, into);
    } else if (field.fieldKind === 'list' && field.listKind === 'message') {
      for (const item of fieldValue(message, field) as Message[]) collectSetFields(field.message, item, into);
    }
  }
}

/** Every `<message type>.<field>` reachable from a schema. */
function collectAllFields(schema: DescMessage, into: Set<string>, seen = new Set<string>()): void {
  if (seen.has(schema.typeName)) return;
  seen.add(schema.typeName);
  for (const field of schema.fields) {
    into.add(`${schema.typeName}.${field.name}`);
    if (field.fieldKind === 'message' || (field.fieldKind === 'list' && field.listKind === 'message')) {
      collectAllFields(field.message, into, seen);
    }
  }
}

describe('golden vectors', () => {
  it('cover every message type a topic carries, and nothing else', () => {
    const topicTypes = new Set(allTopics.map((topic) => topic.schema.typeName));
    const fixtureTypes = new Set(topicFixtures.map((fixture) => fixture.schema.typeName));
    expect([...fixtureTypes].sort()).toEqual([...topicTypes].sort());
  });

  it('set every field of every message type at least once (no field left at its default)', () => {
    for (const schema of new Set(allTopics.map((topic) => topic.schema))) {
      const expected = new Set<string>();
      collectAllFields(schema, expected);
      const covered = new Set<string>();
      for (const fixture of fixturesOf(schema)) collectSetFields(schema, fixture.message, covered);
      const missing = [...expected].filter((field) => !covered.has(field));
      expect(missing, `fields of ${schema.typeName} without a value in the golden fixtures`).toEqual([]);
    }
  });

  it('are all committed, with no stray vector files', () => {
    const files = readdirSync(GOLDEN_DIR)
      .filter((file) => file.endsWith('.hex'))
      .sort();
    expect(files).toEqual(goldenFixtures.map((fixture) => `${fixture.name}.hex`).sort());
  });

  describe.each(goldenFixtures.map((fixture) => [fixture.name, fixture] as const))('%s', (_name, fixture) => {
    it('encodes to exactly the committed bytes', () => {
      const golden = readGolden(fixture);
      // Compared as hex so that a failure shows where the bytes differ.
      expect(Buffer.from(toBinary(fixture.schema, fixture.message)).toString('hex')).toBe(
        Buffer.from(golden).toString('hex'),
      );
    });

    it('decodes the committed bytes to the fixture, field by field', () => {
      const decoded = fromBinary(fixture.schema, readGolden(fixture)) as unknown as AnyRecord;
      const expected = fixture.message as unknown as AnyRecord;
      expect(decoded.$typeName).toBe(fixture.schema.typeName);
      for (const member of fixture.schema.members) {
        expect(decoded[member.localName], `${fixture.schema.typeName}.${member.name}`).toEqual(
          expected[member.localName],
        );
      }
      expect(equals(fixture.schema, decoded as Message, fixture.message)).toBe(true);
    });
  });

  describe.each(topicFixtures.map((fixture) => [fixture.name, fixture] as const))('%s', (_name, fixture) => {
    it('round-trips through the topic codec', () => {
      const topic = allTopics.find((candidate) => candidate.schema.typeName === fixture.schema.typeName)!;
      const bytes = encode(topic as Topic, fixture.message);
      expect(bytes).toEqual(readGolden(fixture));
      expect(equals(fixture.schema, decode(topic.name, bytes), fixture.message)).toBe(true);
    });
  });

  it('carry FlowRecord only inside FlowRecordBatch, DnsQuery inside DnsQueryBatch, RouteUpdate inside RouteUpdateBatch, every other fixture on a topic', () => {
    expect(goldenFixtures.filter((fixture) => !topicFixtures.includes(fixture)).map((f) => f.name)).toEqual([
      'kansoku.flows.v1.FlowRecord',
      'kansoku.bgp.v1.RouteUpdate',
      'kansoku.dns.v1.DnsQuery',
    ]);
    const route = readGolden(fixtureOf(RouteUpdateSchema));
    const routes = readGolden(fixtureOf(RouteUpdateBatchSchema));
    expect(routes[0]).toBe(0x0a);
    expect(Buffer.from(routes).indexOf(Buffer.from(route))).toBeGreaterThan(0);
    // The batch codec frames already-encoded routes exactly as toBinary does, and visits them back.
    const second = toBinary(RouteUpdateSchema, decode(topics.bgpUpdates, routes).updates[1]!);
    expect(encodeRouteUpdateBatch([route, second])).toEqual(routes);
    const visited: string[] = [];
    expect(
      forEachRouteUpdate(routes, (bytes, start, end) =>
        visited.push(Buffer.from(bytes.subarray(start, end)).toString('hex')),
      ),
    ).toBe(2);
    expect(visited).toEqual([Buffer.from(route).toString('hex'), Buffer.from(second).toString('hex')]);
    const query = readGolden(fixtureOf(DnsQuerySchema));
    const queries = readGolden(fixtureOf(DnsQueryBatchSchema));
    expect(queries[0]).toBe(0x0a);
    expect(Buffer.from(queries).indexOf(Buffer.from(query))).toBeGreaterThan(0);
    // A batch is its records as field 1, one after the other: the record's own bytes follow tag and length.
    const record = readGolden(fixtureOf(FlowRecordSchema));
    const batch = readGolden(fixtureOf(FlowRecordBatchSchema));
    expect(batch[0]).toBe(0x0a);
    expect(Buffer.from(batch).indexOf(Buffer.from(record))).toBeGreaterThan(0);
  });

  it('keep the documented wire layout of a few fields (guards against renumbering)', () => {
    const flow = fixtureOf(FlowRecordSchema);
    const bytes = readGolden(flow);
    // Field 1 (time_received_ns) is a varint: tag 0x08 first; field 4 (exporter_address, 4 octets): tag 0x22.
    expect(bytes[0]).toBe(0x08);
    const exporter = Buffer.from(bytes).indexOf(Buffer.from([0x22, 0x04, 192, 0, 2, 1]));
    expect(exporter).toBeGreaterThan(0);
  });
});

describe('topic registry', () => {
  it('names every topic kansoku.<domain>.<name>.v<N>, uniquely', () => {
    const names = allTopics.map((topic) => topic.name);
    for (const name of names) expect(name).toMatch(TOPIC_NAME_PATTERN);
    expect(new Set(names).size).toBe(names.length);
    expect(names).toEqual(
      expect.arrayContaining([
        'kansoku.flows.records.v2',
        'kansoku.bgp.updates.v2',
        'kansoku.bgp.peers.v1',
        'kansoku.dns.queries.v2',
        'kansoku.rtp.stream-stats.v1',
        'kansoku.rtp.rtcp.v1',
        'kansoku.threats.auth.v1',
        'kansoku.threats.findings.v1',
        'kansoku.threats.remediations.v1',
      ]),
    );
  });

  it('rejects names that break the convention', () => {
    for (const bad of [
      'kansoku.flows.records',
      'kansoku.flows.records.v0',
      'kansoku.video.streams.v1',
      'kansoku.flows.Records.v1',
      'kansoku.flows.records-.v1',
      'flows.records.v1',
    ]) {
      expect(bad).not.toMatch(TOPIC_NAME_PATTERN);
    }
  });

  it.each(allTopics.map((topic) => [topic.name, topic] as const))('%s is consistent', (name, topic) => {
    const [, domain, , version] = name.split('.');
    expect(topic.domain).toBe(domain);
    // The message comes from the same domain and the same major version as the topic.
    expect(topic.schema.typeName.startsWith(`kansoku.${domain}.${version}.`)).toBe(true);
    expect(Number.isInteger(topic.defaultPartitions) && topic.defaultPartitions >= 1).toBe(true);
    expect(topic.retentionMs).toBeGreaterThanOrEqual(60 * 60 * 1000);
    expect(topic.key.description).not.toBe('');
    expect(Object.isFrozen(topic)).toBe(true);
  });

  it('looks topics up by name', () => {
    expect(topicByName('kansoku.dns.queries.v2')).toBe(topics.dnsQueries);
    for (const topic of allTopics) expect(topicByName(topic.name)).toBe(topic);
  });

  it('throws a clear error for an unknown topic', () => {
    expect(() => topicByName('kansoku.flows.records.v1')).toThrow(UnknownTopicError);
    expect(() => topicByName('kansoku.flows.records.v1')).toThrow(
      /unknown topic "kansoku\.flows\.records\.v1"; known topics: kansoku\.flows\.records\.v2, /,
    );
    try {
      topicByName('nope');
    } catch (error) {
      expect((error as UnknownTopicError).code).toBe('KANSOKU_CONTRACTS_UNKNOWN_TOPIC');
    }
    expect(() => decode('kansoku.nope.v1', new Uint8Array())).toThrow(UnknownTopicError);
  });

  it('refuses to encode a message of another type than the topic carries', () => {
    const flow = fixtureOf(FlowRecordSchema).message;
    expect(() => encode(topics.dnsQueries as Topic, flow)).toThrow(TopicMessageMismatchError);
    expect(() => encode(topics.dnsQueries as Topic, flow)).toThrow(
      'topic kansoku.dns.queries.v2 carries kansoku.dns.v2.DnsQueryBatch, not kansoku.flows.v1.FlowRecord',
    );
  });

  it('reports undecodable bytes with the topic name', () => {
    // Field 4 (exporter_address, length-delimited) claiming 100 octets that are not there.
    const truncated = Uint8Array.from([0x22, 100, 1, 2]);
    expect(() => decode(topics.flowRecords, truncated)).toThrow(TopicDecodeError);
    expect(() => decode(topics.flowRecords, truncated)).toThrow(
      /cannot decode a 4-byte record of topic kansoku\.flows\.records\.v2: /,
    );
  });

  it('encodes with a renamed topic (per-test topic names)', () => {
    const renamed = { ...topics.flowRecords, name: 'test-flows' };
    const flow = create(FlowRecordSchema, { exporterAddress: parseIpAddress('192.0.2.9'), bytes: 10n });
    const decoded = decode(renamed, encode(renamed, create(FlowRecordBatchSchema, { records: [flow] })));
    expect(decoded.records[0]?.bytes).toBe(10n);
    expect(keyOf(renamed, decoded)).toBe('192.0.2.9');
  });
});

describe('record keys', () => {
  const expectedKeys: Record<string, string> = {
    'kansoku.flows.v2.FlowRecordBatch': '192.0.2.1',
    'kansoku.bgp.v2.RouteUpdateBatch': '192.0.2.254|279172874240100|198.51.100.7',
    'kansoku.bgp.v1.PeerEvent.up': '192.0.2.254|279172874240100|198.51.100.7',
    'kansoku.bgp.v1.PeerEvent.down': '192.0.2.254|279172874240100|198.51.100.7',
    'kansoku.bgp.v1.PeerEvent.stats': '192.0.2.254|279172874240100|198.51.100.7',
    'kansoku.dns.v2.DnsQueryBatch': 'client-shard-54',
    'kansoku.rtp.v1.RtpStreamSecond': '10.20.30.40|5004|239.1.2.3|5004|305419896',
    'kansoku.rtp.v1.RtcpReport': '10.20.30.40|305419896',
    'kansoku.threats.v1.AuthenticationEvent': 'entity-7f3a',
    'kansoku.threats.v1.DetectionFinding': 'entity-7f3a',
    'kansoku.threats.v1.NetworkRemediation.segment-isolation': 'entity-7f3a',
    'kansoku.threats.v1.NetworkRemediation.vnf-chain-change': 'entity-7f3a',
  };

  function topicFor(fixture: GoldenFixture): RegisteredTopic {
    return allTopics.find((topic) => topic.schema.typeName === fixture.schema.typeName)!;
  }

  it.each(topicFixtures.map((fixture) => [fixture.name, fixture] as const))('%s', (name, fixture) => {
    const topic = topicFor(fixture) as Topic;
    const key = keyOf(topic, fixture.message);
    expect(key).toBe(expectedKeys[name]);
    // Stable: the same for a copy, and for the message decoded from its bytes.
    expect(keyOf(topic, clone(fixture.schema, fixture.message))).toBe(key);
    expect(keyOf(topic, decode(topic, readGolden(fixture)))).toBe(key);
    expect(topic.key.of(fixture.message)).toBe(key);
  });

  it('keys a BGP peer by router, distinguisher and peer, whatever the update', () => {
    const update = create(RouteUpdateSchema, {
      routerAddress: parseIpAddress('2001:db8::1'),
      peer: create(PeerSchema, { address: parseIpAddress('2001:db8::2'), distinguisher: 0n }),
      prefixLength: 24,
    });
    expect(keyOf(topics.bgpUpdates, create(topics.bgpUpdates.schema, { updates: [update] }))).toBe(
      '2001:db8::1|0|2001:db8::2',
    );
    expect(
      keyOf(
        topics.bgpUpdates,
        create(topics.bgpUpdates.schema, { updates: [create(RouteUpdateSchema, {})] }),
      ),
    ).toBe('|0|');
    expect(keyOf(topics.bgpUpdates, create(topics.bgpUpdates.schema, {}))).toBe('');
  });

  it('falls back from entity uid to MAC, then IP, then no key', () => {
    const withMac = create(topics.threatAuth.schema, {
      entity: create(EntitySchema, {
        macAddress: Uint8Array.from([2, 0, 0x5e, 0x10, 0, 1]),
        ipAddress: parseIpAddress('172.16.0.1'),
      }),
    });
    expect(keyOf('kansoku.threats.auth.v1', withMac)).toBe('mac=02:00:5e:10:00:01');
    const withIp = create(topics.threatFindings.schema, {
      entity: create(EntitySchema, { ipAddress: parseIpAddress('172.16.0.1') }),
    });
    expect(keyOf(topics.threatFindings, withIp)).toBe('ip=172.16.0.1');
    expect(keyOf(topics.threatRemediations, create(topics.threatRemediations.schema, {}))).toBe('');
  });
});
