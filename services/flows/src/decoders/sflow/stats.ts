/**
 * What the sFlow decoder counts, per agent and in total. Keyed counters (error codes, unknown formats) are
 * bounded: a hostile agent can invent formats faster than memory grows, so past a limit they share `other`.
 */

/** Distinct keys per keyed counter; the rest are counted under OTHER_KEY. */
export const MAX_COUNTER_KEYS = 64;
export const OTHER_KEY = 'other';

export interface SflowCounts {
  /** Datagrams attributed to the agent, malformed ones included. */
  datagrams: number;
  flowSamples: number;
  counterSamples: number;
  /** Flow records produced (one per flow sample, unless dropped as discarded). */
  records: number;
  /** Generic interface counter records produced. */
  interfaceCounters: number;
  /** Datagrams rejected, by SflowErrorCode. */
  decodeErrors: Record<string, number>;
  /** Times the datagram sequence number jumped forward. */
  sequenceGaps: number;
  /** Datagrams missing in those jumps. */
  missingDatagrams: number;
  /** Times the sequence number went back or repeated (agent restart, duplicate, reordering). */
  sequenceResets: number;
  /** Flow samples of packets the agent dropped (output interface format "discarded"). */
  discardedSamples: number;
  /** Sampled headers that gave no IP packet, by code (KANSOKU_PACKET_NOT_IP for ARP, …). */
  headerErrors: Record<string, number>;
  /** Sampled headers cut inside the transport header, decoded as far as their bytes go. */
  partialHeaders: number;
  /** Samples, flow records and counter records skipped, by "enterprise:format". */
  unknownSampleFormats: Record<string, number>;
  unknownFlowRecordFormats: Record<string, number>;
  unknownCounterRecordFormats: Record<string, number>;
}

export interface SflowAgentStats extends SflowCounts {
  /** Agent address (or the datagram's source address when the agent gave none or it was unreadable). */
  agent: string;
  /** Sub-agents whose sequence is tracked. */
  subAgents: number;
}

export interface SflowDecoderStats {
  /** Agents tracked now, least recently heard first. */
  agents: SflowAgentStats[];
  /** Agents forgotten to stay within maxAgents (their counts remain in `totals`). */
  agentsEvicted: number;
  /** Every count since the decoder was created, evicted agents included. */
  totals: SflowCounts;
}

type KeyedField =
  | 'decodeErrors'
  | 'headerErrors'
  | 'unknownSampleFormats'
  | 'unknownFlowRecordFormats'
  | 'unknownCounterRecordFormats';

type NumberField = {
  [K in keyof SflowCounts]: SflowCounts[K] extends number ? K : never;
}[keyof SflowCounts];

/** Mutable counts behind a snapshot. */
export class CountSet {
  readonly numbers: Record<NumberField, number> = {
    datagrams: 0,
    flowSamples: 0,
    counterSamples: 0,
    records: 0,
    interfaceCounters: 0,
    sequenceGaps: 0,
    missingDatagrams: 0,
    sequenceResets: 0,
    discardedSamples: 0,
    partialHeaders: 0,
  };
  readonly keyed: Record<KeyedField, Map<string, number>> = {
    decodeErrors: new Map(),
    headerErrors: new Map(),
    unknownSampleFormats: new Map(),
    unknownFlowRecordFormats: new Map(),
    unknownCounterRecordFormats: new Map(),
  };

  add(field: NumberField, n = 1): void {
    this.numbers[field] += n;
  }

  addKey(field: KeyedField, key: string, n = 1): void {
    const map = this.keyed[field];
    const current = map.get(key);
    if (current !== undefined) map.set(key, current + n);
    else if (map.size < MAX_COUNTER_KEYS) map.set(key, n);
    else map.set(OTHER_KEY, (map.get(OTHER_KEY) ?? 0) + n);
  }

  snapshot(): SflowCounts {
    return {
      ...this.numbers,
      decodeErrors: Object.fromEntries(this.keyed.decodeErrors),
      headerErrors: Object.fromEntries(this.keyed.headerErrors),
      unknownSampleFormats: Object.fromEntries(this.keyed.unknownSampleFormats),
      unknownFlowRecordFormats: Object.fromEntries(this.keyed.unknownFlowRecordFormats),
      unknownCounterRecordFormats: Object.fromEntries(this.keyed.unknownCounterRecordFormats),
    };
  }
}

/** Counts one event against an agent and the totals at once. */
export class AgentCounts {
  constructor(
    readonly agent: CountSet,
    readonly totals: CountSet,
  ) {}

  add(field: NumberField, n = 1): void {
    this.agent.add(field, n);
    this.totals.add(field, n);
  }

  addKey(field: KeyedField, key: string, n = 1): void {
    this.agent.addKey(field, key, n);
    this.totals.addKey(field, key, n);
  }
}
