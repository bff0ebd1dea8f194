/**
 * NetFlow v5, NetFlow v9 (RFC 3954) and IPFIX (RFC 7011) export packets → FlowRecord.
 *
 * State is per exporter address: its observation domains (IPFIX) / source ids (v9), each with its templates
 * and options templates, its samplers (from options data), the data sets that arrived before their template
 * and the next sequence number it expects. Everything is bounded (exporters, domains, templates, held sets,
 * samplers) with least-recently-used eviction, counted. Malformed input is counted per exporter by code and
 * skipped; `decode` does not throw for any input.
 */

import type { FlowRecord } from '@kansoku/contracts/gen/kansoku/flows/v1/flows_pb';
import { FlowProtocol } from '@kansoku/contracts/gen/kansoku/flows/v1/flows_pb';
import { formatIpAddress, parseIpAddress } from '@kansoku/contracts/ip-address';
import { KansokuError } from '@kansoku/kit/errors';
import { ByteReader, TruncatedInputError } from '@kansoku/kit/net/byte-reader';
import type { RateLimitedLog } from '@kansoku/kit/net/rate-limited-log';
import { type NetflowDecoderConfig, resolveNetflowDecoderConfig } from './config.ts';
import { NetflowDecodeError, NetflowErrorCode } from './errors.ts';
import {
  decodeDataRecords,
  decodeOptionsRecords,
  decodeV5Record,
  type OptionsRecordValues,
  type RecordContext,
  V5_RECORD_LENGTH,
} from './records.ts';
import {
  compileTemplate,
  MAX_TEMPLATE_FIELDS,
  sameLayout,
  type Template,
  type TemplateField,
  type TemplateProtocol,
} from './template.ts';

/** The source of an export packet. */
export interface NetflowExporter {
  /** 4 (IPv4) or 16 (IPv6) octets. */
  address: Uint8Array;
  port: number;
}

export interface NetflowDecoderDeps {
  /** Where malformed packets and dropped data sets are reported, rate-limited per exporter and code. */
  log?: RateLimitedLog;
}

/** Counters of one exporter (since it was last evicted, if ever). */
export interface NetflowExporterStats {
  /** Text form of the exporter address. */
  exporter: string;
  /** Export packets received, decodable or not. */
  packets: number;
  /** Flow records produced (including those of held data sets decoded later). */
  records: number;
  /** Template records received, first definitions and refreshes alike. */
  templates: number;
  /** Options template records received. */
  optionsTemplates: number;
  /** Template ids that came back with a different layout than the one kept. */
  templatesRedefined: number;
  /** Templates withdrawn by the exporter (IPFIX), one per template removed. */
  templatesWithdrawn: number;
  /** Templates forgotten to stay within maxTemplatesPerExporter (or with an evicted domain). */
  templatesEvicted: number;
  /** Templates and options templates known now. */
  activeTemplates: number;
  /** Options data records read (sampler tables, system init time). */
  optionsRecords: number;
  /** Malformed packets by error code. */
  decodeErrors: Record<string, number>;
  /** Data sets waiting for their template now. */
  pendingSets: number;
  /** Data sets that waited for their template and were decoded when it came. */
  pendingSetsDecoded: number;
  /** Data sets that waited in vain: too old, pushed out by newer ones, or not matching the template that came. */
  pendingSetsDropped: number;
  /** Export packets whose sequence number was not the expected one. */
  sequenceGaps: number;
  /** Sum of the forward jumps of those gaps: lost export packets (v9) or records (v5, IPFIX). */
  sequenceMissing: number;
  /** Sets with a reserved set id, skipped. */
  setsSkipped: number;
  /** Enterprise-specific fields skipped in decoded records, by Private Enterprise Number. */
  enterpriseFields: Record<string, number>;
  /** Observation domains / source ids tracked now. */
  domains: number;
}

export interface NetflowDecoderStats {
  exporters: NetflowExporterStats[];
  /** Exporters known now. */
  exporterCount: number;
  /** Exporters forgotten to stay within maxExporters. */
  exportersEvicted: number;
  /** Observation domains forgotten to stay within maxDomainsPerExporter. */
  domainsEvicted: number;
  /** Monotonic totals over every exporter, evicted ones included. */
  totals: {
    packets: number;
    records: number;
    decodeErrors: Record<string, number>;
    pendingSetsDropped: number;
    templatesEvicted: number;
    sequenceGaps: number;
  };
}

/** JSON form of the template state, for a collector restart (see `snapshot` / `restore`). */
export interface TemplateSnapshot {
  format: typeof SNAPSHOT_FORMAT;
  version: 1;
  exporters: SnapshotExporter[];
}

export interface SnapshotExporter {
  address: string;
  domains: SnapshotDomain[];
}

export interface SnapshotDomain {
  protocol: 'netflow-v9' | 'ipfix';
  domainId: number;
  /** Boot time of the exporter (IPFIX systemInitTimeMilliseconds), when it sent one. */
  systemInitTimeMs?: number;
  /** [sampler id (-1: no id), sampling rate] from options data. */
  samplers: [number, number][];
  /** Least recently used first. */
  templates: SnapshotTemplate[];
}

export interface SnapshotTemplate {
  id: number;
  options: boolean;
  scopeFieldCount: number;
  /** [element id, length, enterprise number (0 for IANA)]. */
  fields: [number, number, number][];
}

export interface RestoreResult {
  exporters: number;
  templates: number;
  /** Entries of the snapshot that were not valid and were left out. */
  rejected: number;
}

export interface NetflowDecoder {
  /**
   * Decodes one export packet (one UDP datagram, or one IPFIX message off a TCP stream) from `exporter`,
   * received at `receivedNs` (nanoseconds since the epoch). Returns the flow records it carried, plus those of
   * earlier data sets that were waiting for a template this packet brought. Never throws for bad input.
   */
  decode(packet: Buffer, exporter: NetflowExporter, receivedNs: bigint): FlowRecord[];
  /** Drops held data sets older than pendingSetTimeoutMs at `nowNs` (for a collector timer; decode does it too). */
  expirePending(nowNs: bigint): number;
  stats(): NetflowDecoderStats;
  /** Templates, options templates and sampler tables of every exporter, JSON-serialisable. */
  snapshot(): TemplateSnapshot;
  /** Loads a snapshot (merging into the current state); throws KANSOKU_FLOW_SNAPSHOT_INVALID for a foreign object. */
  restore(snapshot: unknown): RestoreResult;
}

export const SNAPSHOT_FORMAT = 'kansoku.netflow.templates' as const;
export const SNAPSHOT_INVALID = 'KANSOKU_FLOW_SNAPSHOT_INVALID' as const;

/** Which export protocol a domain belongs to; each has its own template space and sequence numbers. */
enum Space {
  V5 = 0,
  V9 = 1,
  IPFIX = 2,
}

const DOMAIN_KEY_FACTOR = 0x1_0000_0000;
const TEMPLATE_KEY_FACTOR = 0x1_0000;
const NS_PER_MS = 1_000_000n;
const IPFIX_HEADER_LENGTH = 16;

interface PendingSet {
  templateId: number;
  /** A copy: the packet buffer is not ours to keep. */
  body: Buffer;
  receivedNs: bigint;
  exportTimeSec: number;
  sysUptimeMs: number | undefined;
  sequence: number;
}

interface DomainState {
  /** space * 2^32 + domain id. */
  readonly key: number;
  readonly space: Space;
  readonly domainId: number;
  pending: PendingSet[];
  samplers: Map<number, number>;
  systemInitTimeMs: number | undefined;
  expectedSequence: number | undefined;
}

interface ExporterCounters {
  packets: number;
  records: number;
  templates: number;
  optionsTemplates: number;
  templatesRedefined: number;
  templatesWithdrawn: number;
  templatesEvicted: number;
  optionsRecords: number;
  pendingSetsDecoded: number;
  pendingSetsDropped: number;
  sequenceGaps: number;
  sequenceMissing: number;
  setsSkipped: number;
  decodeErrors: Map<string, number>;
  enterpriseFields: Map<number, number>;
}

interface ExporterState {
  readonly key: string;
  readonly address: Uint8Array;
  /** Least recently used first. */
  readonly domains: Map<number, DomainState>;
  /** domain key * 2^16 + template id → template; least recently used first. */
  readonly templates: Map<number, Template>;
  pendingCount: number;
  readonly counters: ExporterCounters;
}

/** Per-packet view shared by the set handlers. */
interface PacketScope {
  readonly state: ExporterState;
  readonly domain: DomainState;
  readonly ipfix: boolean;
  readonly ctx: RecordContext;
  readonly out: FlowRecord[];
  /** Data records seen in this packet (IPFIX sequence accounting); -1 once a set could not be counted. */
  dataRecords: number;
}

function newCounters(): ExporterCounters {
  return {
    packets: 0,
    records: 0,
    templates: 0,
    optionsTemplates: 0,
    templatesRedefined: 0,
    templatesWithdrawn: 0,
    templatesEvicted: 0,
    optionsRecords: 0,
    pendingSetsDecoded: 0,
    pendingSetsDropped: 0,
    sequenceGaps: 0,
    sequenceMissing: 0,
    setsSkipped: 0,
    decodeErrors: new Map(),
    enterpriseFields: new Map(),
  };
}

function increment<K>(map: Map<K, number>, key: K, by = 1): void {
  map.set(key, (map.get(key) ?? 0) + by);
}

function allZero(reader: ByteReader): boolean {
  const buffer = reader.buffer;
  for (let i = reader.position; i < buffer.length; i++) if (buffer[i] !== 0) return false;
  return true;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isUint32(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= 0xffffffff;
}

export function createNetflowDecoder(
  options: Partial<NetflowDecoderConfig> = {},
  deps: NetflowDecoderDeps = {},
): NetflowDecoder {
  const config = resolveNetflowDecoderConfig(options);
  const pendingTimeoutNs = BigInt(config.pendingSetTimeoutMs) * NS_PER_MS;
  const exporters = new Map<string, ExporterState>();
  const noSamplers: ReadonlyMap<number, number> = new Map();
  let exportersEvicted = 0;
  let domainsEvicted = 0;
  const totals = {
    packets: 0,
    records: 0,
    decodeErrors: new Map<string, number>(),
    pendingSetsDropped: 0,
    templatesEvicted: 0,
    sequenceGaps: 0,
  };

  function exporterState(address: Uint8Array): ExporterState {
    const key = formatIpAddress(address);
    const found = exporters.get(key);
    if (found !== undefined) {
      exporters.delete(key);
      exporters.set(key, found);
      return found;
    }
    if (exporters.size >= config.maxExporters) {
      const oldest = exporters.keys().next().value;
      if (oldest !== undefined) {
        const evicted = exporters.get(oldest);
        exporters.delete(oldest);
        exportersEvicted++;
        if (evicted !== undefined) {
          totals.pendingSetsDropped += evicted.pendingCount;
        }
      }
    }
    const created: ExporterState = {
      key,
      address: Uint8Array.from(address),
      domains: new Map(),
      templates: new Map(),
      pendingCount: 0,
      counters: newCounters(),
    };
    exporters.set(key, created);
    return created;
  }

  function domainState(state: ExporterState, space: Space, domainId: number): DomainState {
    const key = space * DOMAIN_KEY_FACTOR + domainId;
    const found = state.domains.get(key);
    if (found !== undefined) {
      state.domains.delete(key);
      state.domains.set(key, found);
      return found;
    }
    if (state.domains.size >= config.maxDomainsPerExporter) {
      const oldest = state.domains.values().next().value;
      if (oldest !== undefined) evictDomain(state, oldest);
    }
    const created: DomainState = {
      key,
      space,
      domainId,
      pending: [],
      samplers: new Map(),
      systemInitTimeMs: undefined,
      expectedSequence: undefined,
    };
    state.domains.set(key, created);
    return created;
  }

  function evictDomain(state: ExporterState, domain: DomainState): void {
    state.domains.delete(domain.key);
    domainsEvicted++;
    state.pendingCount -= domain.pending.length;
    countDropped(state, domain.pending.length, 'domain evicted');
    domain.pending = [];
    for (const key of state.templates.keys()) {
      if (Math.floor(key / TEMPLATE_KEY_FACTOR) === domain.key) {
        state.templates.delete(key);
        state.counters.templatesEvicted++;
        totals.templatesEvicted++;
      }
    }
  }

  /** Counts `count` held data sets as dropped; the caller has taken them out of pendingCount. */
  function countDropped(state: ExporterState, count: number, reason: string): void {
    if (count <= 0) return;
    state.counters.pendingSetsDropped += count;
    totals.pendingSetsDropped += count;
    deps.log?.warn(
      `netflow:${state.key}:${NetflowErrorCode.TEMPLATE_MISSING}`,
      { exporter: state.key, code: NetflowErrorCode.TEMPLATE_MISSING, dropped: count, reason },
      'data sets dropped while waiting for their template',
    );
  }

  function countError(state: ExporterState, code: string, message: string): void {
    increment(state.counters.decodeErrors, code);
    increment(totals.decodeErrors, code);
    deps.log?.warn(`netflow:${state.key}:${code}`, { exporter: state.key, code }, message);
  }

  function checkSequence(state: ExporterState, domain: DomainState, sequence: number): void {
    const expected = domain.expectedSequence;
    if (expected === undefined || expected === sequence) return;
    state.counters.sequenceGaps++;
    totals.sequenceGaps++;
    const ahead = (sequence - expected) >>> 0;
    // A jump backwards (reordering, exporter restart) is a gap with nothing known to be missing.
    if (ahead < 0x8000_0000) state.counters.sequenceMissing += ahead;
  }

  // --- templates -------------------------------------------------------------------------------------

  function templateKey(domain: DomainState, templateId: number): number {
    return domain.key * TEMPLATE_KEY_FACTOR + templateId;
  }

  function storeTemplate(
    state: ExporterState,
    domain: DomainState,
    template: Template,
  ): 'new' | 'same' | 'changed' {
    const key = templateKey(domain, template.id);
    const existing = state.templates.get(key);
    if (existing !== undefined) {
      state.templates.delete(key);
    } else if (state.templates.size >= config.maxTemplatesPerExporter) {
      const oldest = state.templates.keys().next().value;
      if (oldest !== undefined) {
        state.templates.delete(oldest);
        state.counters.templatesEvicted++;
        totals.templatesEvicted++;
      }
    }
    state.templates.set(key, template);
    if (existing === undefined) return 'new';
    return sameLayout(existing, template) ? 'same' : 'changed';
  }

  function learnTemplate(scope: PacketScope, template: Template): void {
    const { state, domain } = scope;
    const outcome = storeTemplate(state, domain, template);
    if (template.options) state.counters.optionsTemplates++;
    else state.counters.templates++;
    if (outcome === 'changed') state.counters.templatesRedefined++;
    releasePending(scope, template);
  }

  function withdraw(scope: PacketScope, templateId: number, options: boolean, setId: number): void {
    const { state, domain } = scope;
    if (templateId === setId) {
      // "All templates" (of the set's kind) of this domain (RFC 7011 §8.1).
      for (const [key, template] of state.templates) {
        if (Math.floor(key / TEMPLATE_KEY_FACTOR) === domain.key && template.options === options) {
          state.templates.delete(key);
          state.counters.templatesWithdrawn++;
        }
      }
      return;
    }
    if (templateId < 256) {
      throw new NetflowDecodeError(
        NetflowErrorCode.BAD_TEMPLATE,
        `withdrawal of reserved template id ${templateId}`,
      );
    }
    const key = templateKey(domain, templateId);
    const existing = state.templates.get(key);
    if (existing !== undefined && existing.options === options) {
      state.templates.delete(key);
      state.counters.templatesWithdrawn++;
    }
  }

  function readFields(reader: ByteReader, count: number, ipfix: boolean): TemplateField[] {
    if (count > MAX_TEMPLATE_FIELDS) {
      throw new NetflowDecodeError(NetflowErrorCode.BAD_TEMPLATE, `template with ${count} fields`);
    }
    const fields: TemplateField[] = [];
    for (let i = 0; i < count; i++) {
      const rawId = reader.u16();
      const length = reader.u16();
      if (ipfix && (rawId & 0x8000) !== 0) {
        fields.push({ id: rawId & 0x7fff, length, enterprise: reader.u32() });
      } else {
        fields.push({ id: rawId, length, enterprise: 0 });
      }
    }
    return fields;
  }

  function compileOrThrow(
    protocol: TemplateProtocol,
    id: number,
    options: boolean,
    scopeCount: number,
    fields: TemplateField[],
  ): Template {
    const compiled = compileTemplate(protocol, id, options, scopeCount, fields);
    if (typeof compiled === 'string') throw new NetflowDecodeError(NetflowErrorCode.BAD_TEMPLATE, compiled);
    return compiled;
  }

  function templateSet(scope: PacketScope, body: Buffer, setId: number): void {
    const reader = new ByteReader(body);
    const protocol: TemplateProtocol = scope.ipfix ? 10 : 9;
    while (reader.remaining >= 4 && !allZero(reader)) {
      const id = reader.u16();
      const fieldCount = reader.u16();
      if (fieldCount === 0) {
        if (!scope.ipfix) {
          throw new NetflowDecodeError(NetflowErrorCode.BAD_TEMPLATE, `template ${id} has no fields`);
        }
        withdraw(scope, id, false, setId);
        continue;
      }
      const fields = readFields(reader, fieldCount, scope.ipfix);
      learnTemplate(scope, compileOrThrow(protocol, id, false, 0, fields));
    }
  }

  function ipfixOptionsTemplateSet(scope: PacketScope, body: Buffer, setId: number): void {
    const reader = new ByteReader(body);
    while (reader.remaining >= 4 && !allZero(reader)) {
      const id = reader.u16();
      const fieldCount = reader.u16();
      if (fieldCount === 0) {
        withdraw(scope, id, true, setId);
        continue;
      }
      const scopeCount = reader.u16();
      const fields = readFields(reader, fieldCount, true);
      learnTemplate(scope, compileOrThrow(10, id, true, scopeCount, fields));
    }
  }

  function v9OptionsTemplateSet(scope: PacketScope, body: Buffer): void {
    const reader = new ByteReader(body);
    while (reader.remaining >= 6 && !allZero(reader)) {
      const id = reader.u16();
      const scopeLength = reader.u16();
      const optionLength = reader.u16();
      if (scopeLength % 4 !== 0 || optionLength % 4 !== 0) {
        throw new NetflowDecodeError(
          NetflowErrorCode.BAD_TEMPLATE,
          `options template ${id}: scope length ${scopeLength} and option length ${optionLength} must be multiples of 4`,
        );
      }
      const scopeCount = scopeLength / 4;
      const fields = readFields(reader, scopeCount + optionLength / 4, false);
      learnTemplate(scope, compileOrThrow(9, id, true, scopeCount, fields));
    }
  }

  // --- data sets -------------------------------------------------------------------------------------

  function applyOptions(scope: PacketScope, values: OptionsRecordValues): void {
    const domain = scope.domain;
    if (values.samplingRate > 0) {
      const samplers = domain.samplers;
      if (!samplers.has(values.samplerId) && samplers.size >= config.maxSamplersPerDomain) {
        const oldest = samplers.keys().next().value;
        if (oldest !== undefined) samplers.delete(oldest);
      }
      samplers.delete(values.samplerId);
      samplers.set(values.samplerId, values.samplingRate);
    }
    if (values.systemInitTimeMs >= 0) {
      domain.systemInitTimeMs = values.systemInitTimeMs;
      scope.ctx.systemInitTimeMs = values.systemInitTimeMs;
    }
  }

  /** Decodes a data set with a known template; returns its record count. Records go to `into`. */
  function decodeSet(
    scope: PacketScope,
    template: Template,
    body: Buffer,
    ctx: RecordContext,
    into: FlowRecord[],
  ): number {
    const counters = scope.state.counters;
    if (template.options) {
      const count = decodeOptionsRecords(body, template, scope.ipfix, (values) =>
        applyOptions(scope, values),
      );
      counters.optionsRecords += count;
      return count;
    }
    return decodeDataRecords(body, template, ctx, scope.ipfix, into, counters.enterpriseFields);
  }

  function dataSet(scope: PacketScope, setId: number, body: Buffer): void {
    const { state, domain } = scope;
    const key = templateKey(domain, setId);
    const template = state.templates.get(key);
    if (template === undefined) {
      hold(scope, setId, body);
      scope.dataRecords = -1;
      return;
    }
    state.templates.delete(key);
    state.templates.set(key, template);
    const records: FlowRecord[] = [];
    const count = decodeSet(scope, template, body, scope.ctx, records);
    if (scope.dataRecords >= 0) scope.dataRecords += count;
    for (const record of records) scope.out.push(record);
  }

  function hold(scope: PacketScope, templateId: number, body: Buffer): void {
    const { state, domain, ctx } = scope;
    expireDomain(state, domain, ctx.receivedNs);
    if (config.maxPendingSetsPerDomain === 0) {
      countDropped(state, 1, 'holding disabled');
      return;
    }
    if (domain.pending.length >= config.maxPendingSetsPerDomain) {
      domain.pending.shift();
      state.pendingCount--;
      countDropped(state, 1, 'too many data sets waiting');
    }
    domain.pending.push({
      templateId,
      body: Buffer.from(body),
      receivedNs: ctx.receivedNs,
      exportTimeSec: ctx.exportTimeSec,
      sysUptimeMs: ctx.sysUptimeMs,
      sequence: ctx.sequence,
    });
    state.pendingCount++;
  }

  function expireDomain(state: ExporterState, domain: DomainState, nowNs: bigint): number {
    let expired = 0;
    while (domain.pending.length > 0 && domain.pending[0]!.receivedNs + pendingTimeoutNs < nowNs) {
      domain.pending.shift();
      expired++;
    }
    state.pendingCount -= expired;
    countDropped(state, expired, 'waited too long');
    return expired;
  }

  /** Decodes the held data sets that `template` describes, now that it has arrived. */
  function releasePending(scope: PacketScope, template: Template): void {
    const { state, domain } = scope;
    if (domain.pending.length === 0) return;
    expireDomain(state, domain, scope.ctx.receivedNs);
    const waiting = domain.pending.filter((p) => p.templateId === template.id);
    if (waiting.length === 0) return;
    domain.pending = domain.pending.filter((p) => p.templateId !== template.id);
    for (const held of waiting) {
      state.pendingCount--;
      // The set was exported before this template: a length that is not a whole number of records plus
      // the usual 32-bit padding says it was written with another layout. Drop it rather than mis-decode it.
      if (template.fixedRecordLength !== undefined && held.body.length % template.fixedRecordLength >= 4) {
        countDropped(state, 1, `held set does not fit template ${template.id}`);
        continue;
      }
      const ctx: RecordContext = {
        ...scope.ctx,
        receivedNs: held.receivedNs,
        exportTimeSec: held.exportTimeSec,
        sysUptimeMs: held.sysUptimeMs,
        sequence: held.sequence,
      };
      const records: FlowRecord[] = [];
      try {
        decodeSet(scope, template, held.body, ctx, records);
      } catch (error) {
        if (!(error instanceof NetflowDecodeError)) throw error;
        countDropped(state, 1, error.message);
        continue;
      }
      state.counters.pendingSetsDecoded++;
      for (const record of records) scope.out.push(record);
    }
  }

  // --- packets ---------------------------------------------------------------------------------------

  function decodeV5(reader: ByteReader, state: ExporterState, receivedNs: bigint, out: FlowRecord[]): void {
    const count = reader.u16();
    const sysUptimeMs = reader.u32();
    const unixSecs = reader.u32();
    const unixNsecs = reader.u32();
    const sequence = reader.u32();
    const engineType = reader.u8();
    const engineId = reader.u8();
    const sampling = reader.u16();
    const available = Math.floor(reader.remaining / V5_RECORD_LENGTH);
    if (count > available) {
      throw new NetflowDecodeError(
        NetflowErrorCode.TRUNCATED,
        `NetFlow v5 header announces ${count} records, the packet holds ${available}`,
      );
    }
    const domain = domainState(state, Space.V5, (engineType << 8) | engineId);
    checkSequence(state, domain, sequence);
    domain.expectedSequence = (sequence + count) >>> 0;
    const ctx: RecordContext = {
      flowProtocol: FlowProtocol.NETFLOW_V5,
      exporterAddress: state.address,
      domainId: domain.domainId,
      sequence,
      receivedNs,
      exportTimeSec: unixSecs,
      exportTimeExtraNs: unixNsecs < 1_000_000_000 ? unixNsecs : 0,
      sysUptimeMs,
      systemInitTimeMs: undefined,
      samplers: noSamplers,
      defaultSamplingRate: config.defaultSamplingRate,
    };
    // Top two bits: sampling mode; low 14 bits: the interval (0 when unsampled).
    const headerRate = sampling & 0x3fff;
    const buffer = reader.buffer;
    const start = reader.position;
    for (let i = 0; i < count; i++) {
      out.push(decodeV5Record(buffer, start + i * V5_RECORD_LENGTH, ctx, headerRate));
    }
  }

  function decodeSets(scope: PacketScope, reader: ByteReader): void {
    const ipfix = scope.ipfix;
    const templateSetId = ipfix ? 2 : 0;
    const optionsSetId = ipfix ? 3 : 1;
    // NetFlow v9 pads the packet as a whole too; an IPFIX message is sets end to end.
    while (ipfix ? reader.remaining > 0 : reader.remaining >= 4) {
      if (reader.remaining < 4) {
        throw new NetflowDecodeError(
          NetflowErrorCode.BAD_SET_LENGTH,
          `${reader.remaining} octet(s) after the last set`,
        );
      }
      const setId = reader.u16();
      const length = reader.u16();
      if (length < 4 || length - 4 > reader.remaining) {
        throw new NetflowDecodeError(
          NetflowErrorCode.BAD_SET_LENGTH,
          `set ${setId} declares ${length} octets, ${reader.remaining + 4} remain`,
        );
      }
      const body = reader.bytes(length - 4);
      if (setId === templateSetId) templateSet(scope, body, setId);
      else if (setId === optionsSetId) {
        if (ipfix) ipfixOptionsTemplateSet(scope, body, setId);
        else v9OptionsTemplateSet(scope, body);
      } else if (setId >= 256) dataSet(scope, setId, body);
      else scope.state.counters.setsSkipped++;
    }
  }

  function decodeV9(reader: ByteReader, state: ExporterState, receivedNs: bigint, out: FlowRecord[]): void {
    reader.u16(); // record count: exporters disagree on what it counts, and the sets say it all anyway
    const sysUptimeMs = reader.u32();
    const unixSecs = reader.u32();
    const sequence = reader.u32();
    const sourceId = reader.u32();
    const domain = domainState(state, Space.V9, sourceId);
    checkSequence(state, domain, sequence);
    // v9 counts export packets per source id.
    domain.expectedSequence = (sequence + 1) >>> 0;
    const scope: PacketScope = {
      state,
      domain,
      ipfix: false,
      out,
      dataRecords: 0,
      ctx: {
        flowProtocol: FlowProtocol.NETFLOW_V9,
        exporterAddress: state.address,
        domainId: sourceId,
        sequence,
        receivedNs,
        exportTimeSec: unixSecs,
        exportTimeExtraNs: 0,
        sysUptimeMs,
        systemInitTimeMs: domain.systemInitTimeMs,
        samplers: domain.samplers,
        defaultSamplingRate: config.defaultSamplingRate,
      },
    };
    expireDomain(state, domain, receivedNs);
    decodeSets(scope, reader);
  }

  function decodeIpfix(packet: Buffer, state: ExporterState, receivedNs: bigint, out: FlowRecord[]): void {
    const header = new ByteReader(packet);
    header.skip(2);
    const length = header.u16();
    const exportTime = header.u32();
    const sequence = header.u32();
    const domainId = header.u32();
    if (length < IPFIX_HEADER_LENGTH) {
      throw new NetflowDecodeError(NetflowErrorCode.BAD_LENGTH, `IPFIX message length ${length} is below 16`);
    }
    if (length > packet.length) {
      throw new NetflowDecodeError(
        NetflowErrorCode.TRUNCATED,
        `IPFIX message declares ${length} octets, ${packet.length} arrived`,
      );
    }
    const domain = domainState(state, Space.IPFIX, domainId);
    checkSequence(state, domain, sequence);
    // IPFIX counts data records; unknown until the sets are read, and unknowable if one is held.
    domain.expectedSequence = undefined;
    const scope: PacketScope = {
      state,
      domain,
      ipfix: true,
      out,
      dataRecords: 0,
      ctx: {
        flowProtocol: FlowProtocol.IPFIX,
        exporterAddress: state.address,
        domainId,
        sequence,
        receivedNs,
        exportTimeSec: exportTime,
        exportTimeExtraNs: 0,
        sysUptimeMs: undefined,
        systemInitTimeMs: domain.systemInitTimeMs,
        samplers: domain.samplers,
        defaultSamplingRate: config.defaultSamplingRate,
      },
    };
    expireDomain(state, domain, receivedNs);
    decodeSets(scope, new ByteReader(packet.subarray(IPFIX_HEADER_LENGTH, length)));
    if (scope.dataRecords >= 0) domain.expectedSequence = (sequence + scope.dataRecords) >>> 0;
  }

  function errorCode(error: unknown): { code: string; message: string } {
    if (error instanceof NetflowDecodeError) return { code: error.code, message: error.message };
    if (error instanceof TruncatedInputError)
      return { code: NetflowErrorCode.TRUNCATED, message: error.message };
    return {
      code: NetflowErrorCode.DECODER_BUG,
      message: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
    };
  }

  function decode(packet: Buffer, exporter: NetflowExporter, receivedNs: bigint): FlowRecord[] {
    const state = exporterState(exporter.address);
    state.counters.packets++;
    totals.packets++;
    const out: FlowRecord[] = [];
    try {
      const reader = new ByteReader(packet);
      const version = reader.u16();
      switch (version) {
        case 5:
          decodeV5(reader, state, receivedNs, out);
          break;
        case 9:
          decodeV9(reader, state, receivedNs, out);
          break;
        case 10:
          decodeIpfix(packet, state, receivedNs, out);
          break;
        default:
          throw new NetflowDecodeError(NetflowErrorCode.BAD_VERSION, `export version ${version}`);
      }
    } catch (error) {
      const { code, message } = errorCode(error);
      countError(state, code, message);
    }
    state.counters.records += out.length;
    totals.records += out.length;
    return out;
  }

  function expirePending(nowNs: bigint): number {
    let expired = 0;
    for (const state of exporters.values()) {
      if (state.pendingCount === 0) continue;
      for (const domain of state.domains.values()) expired += expireDomain(state, domain, nowNs);
    }
    return expired;
  }

  function stats(): NetflowDecoderStats {
    const list: NetflowExporterStats[] = [];
    for (const state of exporters.values()) {
      const c = state.counters;
      list.push({
        exporter: state.key,
        packets: c.packets,
        records: c.records,
        templates: c.templates,
        optionsTemplates: c.optionsTemplates,
        templatesRedefined: c.templatesRedefined,
        templatesWithdrawn: c.templatesWithdrawn,
        templatesEvicted: c.templatesEvicted,
        activeTemplates: state.templates.size,
        optionsRecords: c.optionsRecords,
        decodeErrors: Object.fromEntries(c.decodeErrors),
        pendingSets: state.pendingCount,
        pendingSetsDecoded: c.pendingSetsDecoded,
        pendingSetsDropped: c.pendingSetsDropped,
        sequenceGaps: c.sequenceGaps,
        sequenceMissing: c.sequenceMissing,
        setsSkipped: c.setsSkipped,
        enterpriseFields: Object.fromEntries([...c.enterpriseFields].map(([pen, n]) => [String(pen), n])),
        domains: state.domains.size,
      });
    }
    return {
      exporters: list,
      exporterCount: exporters.size,
      exportersEvicted,
      domainsEvicted,
      totals: {
        packets: totals.packets,
        records: totals.records,
        decodeErrors: Object.fromEntries(totals.decodeErrors),
        pendingSetsDropped: totals.pendingSetsDropped,
        templatesEvicted: totals.templatesEvicted,
        sequenceGaps: totals.sequenceGaps,
      },
    };
  }

  function snapshot(): TemplateSnapshot {
    const result: SnapshotExporter[] = [];
    for (const state of exporters.values()) {
      const domains = new Map<number, SnapshotDomain>();
      const entry = (domain: DomainState): SnapshotDomain => {
        let found = domains.get(domain.key);
        if (found === undefined) {
          found = {
            protocol: domain.space === Space.IPFIX ? 'ipfix' : 'netflow-v9',
            domainId: domain.domainId,
            samplers: [...domain.samplers],
            templates: [],
          };
          if (domain.systemInitTimeMs !== undefined) found.systemInitTimeMs = domain.systemInitTimeMs;
          domains.set(domain.key, found);
        }
        return found;
      };
      for (const domain of state.domains.values()) {
        if (
          domain.space !== Space.V5 &&
          (domain.samplers.size > 0 || domain.systemInitTimeMs !== undefined)
        ) {
          entry(domain);
        }
      }
      for (const [key, template] of state.templates) {
        const domain = state.domains.get(Math.floor(key / TEMPLATE_KEY_FACTOR));
        if (domain === undefined) continue;
        entry(domain).templates.push({
          id: template.id,
          options: template.options,
          scopeFieldCount: template.scopeFieldCount,
          fields: template.fields.map((f) => [f.id, f.length, f.enterprise]),
        });
      }
      if (domains.size > 0) result.push({ address: state.key, domains: [...domains.values()] });
    }
    return { format: SNAPSHOT_FORMAT, version: 1, exporters: result };
  }

  function restore(input: unknown): RestoreResult {
    if (!isRecord(input) || input.format !== SNAPSHOT_FORMAT || input.version !== 1) {
      throw new KansokuError(SNAPSHOT_INVALID, `not a ${SNAPSHOT_FORMAT} version 1 snapshot`);
    }
    if (!Array.isArray(input.exporters)) {
      throw new KansokuError(SNAPSHOT_INVALID, 'snapshot has no exporters list');
    }
    const result: RestoreResult = { exporters: 0, templates: 0, rejected: 0 };
    for (const exporter of input.exporters) {
      const address =
        isRecord(exporter) && typeof exporter.address === 'string' ? exporter.address : undefined;
      let bytes: Uint8Array | undefined;
      try {
        bytes = address === undefined ? undefined : parseAddress(address);
      } catch {
        bytes = undefined;
      }
      if (bytes === undefined || !isRecord(exporter) || !Array.isArray(exporter.domains)) {
        result.rejected++;
        continue;
      }
      const state = exporterState(bytes);
      result.exporters++;
      for (const domain of exporter.domains) restoreDomain(state, domain, result);
    }
    return result;
  }

  function restoreDomain(state: ExporterState, input: unknown, result: RestoreResult): void {
    if (
      !isRecord(input) ||
      (input.protocol !== 'ipfix' && input.protocol !== 'netflow-v9') ||
      !isUint32(input.domainId) ||
      !Array.isArray(input.templates) ||
      !Array.isArray(input.samplers)
    ) {
      result.rejected++;
      return;
    }
    const ipfix = input.protocol === 'ipfix';
    const domain = domainState(state, ipfix ? Space.IPFIX : Space.V9, input.domainId);
    if (typeof input.systemInitTimeMs === 'number' && Number.isSafeInteger(input.systemInitTimeMs)) {
      domain.systemInitTimeMs = input.systemInitTimeMs;
    }
    for (const sampler of input.samplers) {
      if (
        Array.isArray(sampler) &&
        typeof sampler[0] === 'number' &&
        (sampler[0] === -1 || isUint32(sampler[0])) &&
        isUint32(sampler[1]) &&
        sampler[1] >= 1 &&
        domain.samplers.size < config.maxSamplersPerDomain
      ) {
        domain.samplers.set(sampler[0], sampler[1]);
      } else {
        result.rejected++;
      }
    }
    for (const entry of input.templates) {
      const template = restoreTemplate(ipfix ? 10 : 9, entry);
      if (template === undefined) {
        result.rejected++;
        continue;
      }
      storeTemplate(state, domain, template);
      result.templates++;
    }
  }

  function restoreTemplate(protocol: TemplateProtocol, input: unknown): Template | undefined {
    if (
      !isRecord(input) ||
      typeof input.id !== 'number' ||
      typeof input.options !== 'boolean' ||
      typeof input.scopeFieldCount !== 'number' ||
      !Array.isArray(input.fields)
    ) {
      return undefined;
    }
    const fields: TemplateField[] = [];
    for (const field of input.fields) {
      if (!Array.isArray(field) || field.length !== 3 || !field.every((n) => typeof n === 'number')) {
        return undefined;
      }
      fields.push({ id: field[0] as number, length: field[1] as number, enterprise: field[2] as number });
    }
    const compiled = compileTemplate(protocol, input.id, input.options, input.scopeFieldCount, fields);
    return typeof compiled === 'string' ? undefined : compiled;
  }

  return { decode, expirePending, stats, snapshot, restore };
}

/** Octets of an exporter address as `formatIpAddress` wrote it (dotted quad, IPv6 text, or `hex:…`). */
function parseAddress(text: string): Uint8Array {
  if (text.startsWith('hex:')) {
    const hex = text.slice(4);
    if (!/^([0-9a-f]{2})*$/.test(hex)) throw new Error(`bad hex address ${text}`);
    return Uint8Array.from(Buffer.from(hex, 'hex'));
  }
  return parseIpAddress(text);
}
