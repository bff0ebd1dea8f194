/**
 * Fuzzing of the DNS wire parser, the dnstap decoder (with pairing) and the Frame Streams parser with
 * mutated valid inputs.
 *
 *   tsx services/dns/src/decoders/fuzz.ts [--count N] [--seed S] [--target dns|dnstap|fstrm|all]
 *
 * The corpus: the DNS messages of the public captures (`$KANSOKU_CAPTURES/dns`, when present) and of the
 * dnstap file, plus messages built here (compressed answers, EDNS, odd names). Each target gets N mutated
 * inputs (default 1,000,000) and checks: nothing thrown but the decoder's own typed errors, no input taking
 * longer than `maxMillisPerInput` (a hang), the pairing table and the frame parser's buffer within their
 * bounds, and every record produced encodes to a valid contract message. Prints a JSON report and exits
 * non-zero on a violation.
 */

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fromBinary } from '@bufbuild/protobuf';
import { DnsQuerySchema } from '@kansoku/contracts/gen/kansoku/dns/v1/dns_pb';
import { readPcapBuffer, tryDecodePacket } from '@kansoku/kit/pcap/index';
import { captureFiles, capturesRoot } from '@kansoku/kit/testing/captures';
import {
  appendRandom,
  corruptUInt16Fields,
  flipBits,
  insertOrDelete,
  overwriteBytes,
  parseFuzzCommandLine,
  pick,
  type Random,
  randomInt,
  repeatSlice,
  runFuzzScript,
  seededRandom,
  splice,
  truncate,
} from '@kansoku/kit/testing/fuzz';
import { encodeDnsQuery } from '../collector/dns-query-codec.ts';
import { buildDnsQuery, buildDnsResponse } from './dns-build.ts';
import { DnsWireError, parseDnsMessage } from './dns-wire.ts';
import { DnstapMessageType, decodeDnstap, encodeDnstap } from './dnstap.ts';
import { DnstapQueryAssembler } from './dnstap-queries.ts';
import {
  ControlType,
  DNSTAP_CONTENT_TYPE,
  encodeControlFrame,
  encodeDataFrame,
  FrameStreamError,
  FrameStreamParser,
  ReceiverSession,
} from './frame-streams.ts';
import { readFstrmBuffer } from './fstrm-file.ts';

export interface DnsCorpus {
  messages: Buffer[];
  frames: Buffer[];
  streams: Buffer[];
}

/** DNS messages and dnstap frames of the captures (when present) and built ones. */
export function loadDnsCorpus(capturesDir = join(capturesRoot(), 'dns')): DnsCorpus {
  const messages: Buffer[] = [];
  const frames: Buffer[] = [];
  for (const name of captureFiles('dns', /\.pcap$/)) {
    for (const packet of readPcapBuffer(readFileSync(join(capturesDir, name)), { truncatedTail: 'ignore' })) {
      const decoded = tryDecodePacket(packet.linkType, packet.data);
      if (!decoded.ok) continue;
      const p = decoded.packet;
      if (p.kind === 'udp' && p.payload.length >= 12) messages.push(Buffer.from(p.payload));
      if (p.kind === 'tcp' && p.payload.length > 14) messages.push(Buffer.from(p.payload.subarray(2)));
    }
  }
  for (const name of captureFiles('dns', /\.fstrm$/)) {
    frames.push(...readFstrmBuffer(readFileSync(join(capturesDir, name))).frames.map((f) => Buffer.from(f)));
  }
  const names = [
    'www.example.jp.',
    'a.b.c.d.e.f.g.example.',
    '.',
    'xn--eckwd4c7c.xn--zckzah.',
    `${'x'.repeat(63)}.jp.`,
  ];
  for (const [i, name] of names.entries()) {
    for (const type of [1, 28, 16, 65, 255]) {
      const spec = { id: i * 100 + type, name, type, edns: i % 2 === 0 ? { dnssecOk: true } : undefined };
      const query = buildDnsQuery(spec);
      const response = buildDnsResponse(spec, {
        answers: (type % 5) + (i % 3),
        rcode: [0, 3, 2, 16][i % 4]!,
      });
      messages.push(query, response);
      const client = Uint8Array.from([10, 0, i, type & 0xff]);
      const common = { socketFamily: 1, socketProtocol: 1, queryAddress: client, queryPort: 1000 + i };
      frames.push(
        encodeDnstap({
          identity: 'fuzz',
          version: '1',
          message: { ...common, type: DnstapMessageType.CLIENT_QUERY, queryTimeSec: 1, queryMessage: query },
        }),
        encodeDnstap({
          identity: 'fuzz',
          message: {
            ...common,
            type: DnstapMessageType.CLIENT_RESPONSE,
            responseTimeSec: 2,
            responseMessage: response,
          },
        }),
        encodeDnstap({
          message: {
            ...common,
            type: DnstapMessageType.AUTH_RESPONSE,
            queryTimeSec: 1,
            responseTimeSec: 1,
            queryMessage: query,
            responseMessage: response,
          },
        }),
      );
    }
  }
  const streams: Buffer[] = [];
  const ready = encodeControlFrame(ControlType.READY, [DNSTAP_CONTENT_TYPE]);
  const start = encodeControlFrame(ControlType.START, [DNSTAP_CONTENT_TYPE]);
  const stop = encodeControlFrame(ControlType.STOP);
  for (let i = 0; i < frames.length; i += 4) {
    const data = frames.slice(i, i + 4).map(encodeDataFrame);
    streams.push(Buffer.concat([ready, start, ...data, stop]), Buffer.concat([start, ...data, stop]));
  }
  return { messages, frames, streams };
}

/** Mutations for protobuf: a varint made endless or huge, a tag turned into another wire type. */
function corruptVarint(data: Buffer, random: Random): void {
  if (data.length === 0) return;
  const at = randomInt(random, data.length);
  const run = 1 + randomInt(random, 11);
  for (let i = at; i < Math.min(data.length, at + run); i++) data[i] = data[i]! | 0x80;
}

function corruptWireType(data: Buffer, random: Random): void {
  if (data.length === 0) return;
  const at = randomInt(random, data.length);
  data[at] = (data[at]! & 0xf8) | randomInt(random, 8);
}

export const MUTATIONS = [
  'flip',
  'overwrite',
  'truncate',
  'insert-delete',
  'append',
  'repeat',
  'splice',
  'uint16-fields',
  'varint',
  'wire-type',
] as const;
export type Mutation = (typeof MUTATIONS)[number];

/** One mutated copy of `input` (`other` for splices), with the mutation's name. */
export function mutate(input: Buffer, other: Buffer, random: Random): { data: Buffer; kind: Mutation } {
  const kind = pick(random, MUTATIONS);
  let data: Buffer = Buffer.from(input);
  switch (kind) {
    case 'flip':
      flipBits(data, random);
      break;
    case 'overwrite':
      overwriteBytes(data, random);
      break;
    case 'truncate':
      data = truncate(data, random);
      break;
    case 'insert-delete':
      data = insertOrDelete(data, random);
      break;
    case 'append':
      data = appendRandom(data, random);
      break;
    case 'repeat':
      data = repeatSlice(data, random);
      break;
    case 'splice':
      data = splice(data, other, random);
      break;
    case 'uint16-fields': {
      // DNS header counts, and any 16-bit word (lengths, pointers) anywhere.
      const offsets = [4, 6, 8, 10, randomInt(random, Math.max(1, data.length - 1))].filter(
        (o) => o + 2 <= data.length,
      );
      if (offsets.length > 0) corruptUInt16Fields(data, offsets, random);
      break;
    }
    case 'varint':
      corruptVarint(data, random);
      break;
    case 'wire-type':
      corruptWireType(data, random);
      break;
  }
  return { data, kind };
}

export interface DnsFuzzReport {
  target: 'dns' | 'dnstap' | 'fstrm';
  inputs: number;
  /** Inputs decoded without error (the rest failed with a typed error, as they should). */
  accepted: number;
  errors: Record<string, number>;
  records: number;
  /** Exceptions other than the decoder's typed errors: must be 0. */
  thrown: number;
  firstThrown?: string;
  /** Longest time one input took, in ms. */
  maxMillis: number;
  /** Inputs over the hang bound: must be 0. */
  slow: number;
  /** Bound violations (pairing table, parser buffer, records that do not round-trip): must be 0. */
  violations: number;
  firstViolation?: string;
}

export interface DnsFuzzOptions {
  target: 'dns' | 'dnstap' | 'fstrm';
  count: number;
  seed: number;
  corpus: DnsCorpus;
  maxMillisPerInput?: number;
}

export function runDnsFuzz(options: DnsFuzzOptions): DnsFuzzReport {
  const { target, count, corpus } = options;
  const maxMillis = options.maxMillisPerInput ?? 100;
  const random = seededRandom(options.seed);
  const report: DnsFuzzReport = {
    target,
    inputs: 0,
    accepted: 0,
    errors: {},
    records: 0,
    thrown: 0,
    maxMillis: 0,
    slow: 0,
    violations: 0,
  };
  const violation = (what: string) => {
    report.violations++;
    report.firstViolation ??= what;
  };
  const error = (code: string) => {
    report.errors[code] = (report.errors[code] ?? 0) + 1;
  };
  const pool = target === 'dns' ? corpus.messages : target === 'dnstap' ? corpus.frames : corpus.streams;
  if (pool.length === 0) throw new Error(`fuzz corpus for ${target} is empty`);
  const maxPending = 64;
  const assembler = new DnstapQueryAssembler({ maxPending, timeoutMs: 1000 }, (record) => {
    report.records++;
    // Every 16th record round-trips through the contract encoding (all of them would double the run).
    if (report.records % 16 === 0) {
      const back = fromBinary(DnsQuerySchema, encodeDnsQuery(record));
      if (back.qname !== record.qname || back.rcode !== record.rcode) violation('record does not round-trip');
    }
  });
  const maxFrameBytes = 4096;

  for (let i = 0; i < count; i++) {
    // One input in 20 unmodified, so pairing and sessions see valid traffic too.
    const input = pick(random, pool);
    const data = random() < 0.05 ? input : mutate(input, pick(random, pool), random).data;
    report.inputs++;
    const t0 = performance.now();
    try {
      if (target === 'dns') {
        try {
          const m = parseDnsMessage(data);
          report.accepted++;
          if (m.question !== undefined && (m.question.name.length === 0 || !m.question.name.endsWith('.')))
            violation(`name not absolute: ${m.question.name}`);
        } catch (e) {
          if (!(e instanceof DnsWireError)) throw e;
          error(e.code);
        }
      } else if (target === 'dnstap') {
        const code = assembler.frame(data, BigInt(i), i);
        if (code === undefined) report.accepted++;
        else error(code);
        if (assembler.stats().pairing.pending > maxPending) violation('pairing table over its bound');
      } else {
        const parser = new FrameStreamParser(maxFrameBytes);
        const session = new ReceiverSession({
          contentType: DNSTAP_CONTENT_TYPE,
          reply: () => {},
          onData: (payload) => {
            assembler.frame(payload, BigInt(i), i);
          },
        });
        try {
          // Random splits: the parser must not depend on how bytes arrive.
          let at = 0;
          while (at < data.length) {
            const n = 1 + randomInt(random, 64);
            parser.push(data.subarray(at, at + n), session);
            at += n;
            if (parser.buffered() > maxFrameBytes + 8) violation('frame parser buffer over its bound');
          }
          report.accepted++;
        } catch (e) {
          if (!(e instanceof FrameStreamError)) throw e;
          error(e.code);
        }
      }
    } catch (e) {
      report.thrown++;
      report.firstThrown ??= e instanceof Error ? `${e.stack}\ninput ${data.toString('hex')}` : String(e);
    }
    let took = performance.now() - t0;
    // On a shared machine a GC pause or a busy neighbour can stall any input: a slow one is timed again
    // without side effects, and counts as a hang only if it stays slow.
    if (took > maxMillis) took = Math.min(took, retime(target, data), retime(target, data));
    if (took > report.maxMillis) report.maxMillis = took;
    if (took > maxMillis) report.slow++;
  }
  assembler.flush();
  report.maxMillis = Math.round(report.maxMillis * 1000) / 1000;
  return report;
}

/** Time of decoding `data` again, with no state kept. */
function retime(target: DnsFuzzOptions['target'], data: Buffer): number {
  const t0 = performance.now();
  try {
    if (target === 'dns') parseDnsMessage(data);
    else if (target === 'dnstap') {
      const tap = decodeDnstap(data);
      if (tap.message?.queryMessage) parseDnsMessage(tap.message.queryMessage);
      if (tap.message?.responseMessage) parseDnsMessage(tap.message.responseMessage);
    } else {
      new FrameStreamParser(4096).push(data, { data: () => {}, control: () => {} });
    }
  } catch {
    // Typed errors are expected; anything else was already counted on the first run.
  }
  return performance.now() - t0;
}

/** What is wrong with a report; empty when the run passed. */
export function dnsFuzzFailures(report: DnsFuzzReport): string[] {
  const failures: string[] = [];
  if (report.thrown > 0) failures.push(`${report.thrown} inputs threw: ${report.firstThrown}`);
  if (report.slow > 0) failures.push(`${report.slow} inputs took too long (max ${report.maxMillis} ms)`);
  if (report.violations > 0) failures.push(`${report.violations} violations: ${report.firstViolation}`);
  return failures;
}

runFuzzScript(import.meta.url, async () => {
  const { count, seed, values } = parseFuzzCommandLine({ seed: '1', options: { target: 'all' } });
  const targets = values.target === 'all' ? (['dns', 'dnstap', 'fstrm'] as const) : [values.target];
  const corpus = loadDnsCorpus();
  let failed = false;
  for (const target of targets) {
    if (target !== 'dns' && target !== 'dnstap' && target !== 'fstrm') throw new Error(`--target ${target}?`);
    const started = performance.now();
    const report = runDnsFuzz({ target, count, seed, corpus });
    const failures = dnsFuzzFailures(report);
    failed ||= failures.length > 0;
    process.stdout.write(
      `${JSON.stringify({ ...report, seconds: Math.round((performance.now() - started) / 100) / 10, failures })}\n`,
    );
  }
  if (failed) process.exitCode = 1;
});
