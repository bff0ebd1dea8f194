/**
 * A Kafka health check over a raw socket, with no client library: ApiVersions (v0, which every broker
 * answers) to learn which Metadata versions the broker speaks, then a Metadata request for no topics.
 * A broker that lists itself in the answer has started its request handlers and registered with the
 * controller; a port that merely accepts connections is not enough.
 */
import { connect, type Socket } from 'node:net';

const API_METADATA = 3;
const API_VERSIONS = 18;
const CLIENT_ID = 'kansoku-stack-probe';

export interface KafkaBrokerInfo {
  nodeId: number;
  host: string;
  port: number;
}

export interface KafkaProbeResult {
  clusterId: string | null;
  controllerId: number;
  brokers: KafkaBrokerInfo[];
  /** Metadata request version used (chosen from the broker's ApiVersions answer). */
  metadataVersion: number;
  /** Number of APIs the broker announced. */
  apiCount: number;
}

class Reader {
  private offset = 0;
  constructor(private readonly buffer: Buffer) {}
  int8(): number {
    const v = this.buffer.readInt8(this.offset);
    this.offset += 1;
    return v;
  }
  int16(): number {
    const v = this.buffer.readInt16BE(this.offset);
    this.offset += 2;
    return v;
  }
  int32(): number {
    const v = this.buffer.readInt32BE(this.offset);
    this.offset += 4;
    return v;
  }
  nullableString(): string | null {
    const length = this.int16();
    if (length < 0) return null;
    const v = this.buffer.toString('utf8', this.offset, this.offset + length);
    this.offset += length;
    return v;
  }
  string(): string {
    return this.nullableString() ?? '';
  }
}

function requestHeader(apiKey: number, apiVersion: number, correlationId: number): Buffer {
  const clientId = Buffer.from(CLIENT_ID, 'utf8');
  const header = Buffer.alloc(10 + clientId.length);
  header.writeInt16BE(apiKey, 0);
  header.writeInt16BE(apiVersion, 2);
  header.writeInt32BE(correlationId, 4);
  header.writeInt16BE(clientId.length, 8);
  clientId.copy(header, 10);
  return header;
}

function frame(...parts: Buffer[]): Buffer {
  const body = Buffer.concat(parts);
  const size = Buffer.alloc(4);
  size.writeInt32BE(body.length, 0);
  return Buffer.concat([size, body]);
}

/** Sends requests on one connection and hands back each response body in order. */
class Connection {
  private pending = Buffer.alloc(0);
  private waiter: { resolve: (b: Buffer) => void; reject: (e: Error) => void } | undefined;
  private failure: Error | undefined;

  private constructor(private readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.pending = Buffer.concat([this.pending, chunk]);
      this.deliver();
    });
    const fail = (error: Error) => {
      this.failure ??= error;
      this.waiter?.reject(this.failure);
      this.waiter = undefined;
    };
    socket.on('error', fail);
    socket.on('close', () => fail(new Error('connection closed by the broker')));
    socket.on('timeout', () => {
      fail(new Error('no answer in time'));
      socket.destroy();
    });
  }

  static open(host: string, port: number, timeoutMs: number): Promise<Connection> {
    return new Promise((resolvePromise, reject) => {
      const socket = connect({ host, port });
      socket.setTimeout(timeoutMs);
      const onError = (error: Error) => {
        socket.destroy();
        reject(error);
      };
      socket.once('error', onError);
      socket.once('timeout', () => onError(new Error(`no connection to ${host}:${port} in ${timeoutMs} ms`)));
      socket.once('connect', () => {
        socket.off('error', onError);
        socket.removeAllListeners('timeout');
        resolvePromise(new Connection(socket));
      });
    });
  }

  private deliver(): void {
    if (!this.waiter || this.pending.length < 4) return;
    const size = this.pending.readInt32BE(0);
    if (size < 4 || size > 64 * 1024 * 1024) {
      this.waiter.reject(new Error(`not a Kafka response (frame size ${size})`));
      this.waiter = undefined;
      this.socket.destroy();
      return;
    }
    if (this.pending.length < 4 + size) return;
    const body = this.pending.subarray(4, 4 + size);
    this.pending = this.pending.subarray(4 + size);
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter.resolve(body);
  }

  request(message: Buffer): Promise<Buffer> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolvePromise, reject) => {
      this.waiter = { resolve: resolvePromise, reject };
      this.socket.write(message);
      this.deliver();
    });
  }

  close(): void {
    this.socket.destroy();
  }
}

function readCorrelation(reader: Reader, expected: number): void {
  const correlationId = reader.int32();
  if (correlationId !== expected) throw new Error(`correlation id ${correlationId}, expected ${expected}`);
}

/** Asks the broker at host:port for its metadata; throws when it does not answer as a Kafka broker. */
export async function probeKafka(host: string, port: number, timeoutMs = 3000): Promise<KafkaProbeResult> {
  const connection = await Connection.open(host, port, timeoutMs);
  try {
    const versions = new Reader(await connection.request(frame(requestHeader(API_VERSIONS, 0, 1))));
    readCorrelation(versions, 1);
    const errorCode = versions.int16();
    if (errorCode !== 0) throw new Error(`ApiVersions error code ${errorCode}`);
    const apiCount = versions.int32();
    let metadataRange: [number, number] | undefined;
    for (let i = 0; i < apiCount; i++) {
      const key = versions.int16();
      const min = versions.int16();
      const max = versions.int16();
      if (key === API_METADATA) metadataRange = [min, max];
    }
    if (!metadataRange) throw new Error('broker announces no Metadata API');
    // v4..v8 share the fixed-width (non-flexible) encoding read below.
    const version = Math.max(metadataRange[0], 4);
    if (version > Math.min(metadataRange[1], 8)) {
      throw new Error(`broker speaks Metadata v${metadataRange[0]}-v${metadataRange[1]}, none of v4-v8`);
    }
    const body = [Buffer.from([0, 0, 0, 0]), Buffer.from([0])]; // topics: empty array; no auto-creation
    if (version >= 8) body.push(Buffer.from([0, 0])); // no authorized-operations lists
    const metadata = new Reader(
      await connection.request(frame(requestHeader(API_METADATA, version, 2), ...body)),
    );
    readCorrelation(metadata, 2);
    metadata.int32(); // throttle_time_ms
    const brokerCount = metadata.int32();
    const brokers: KafkaBrokerInfo[] = [];
    for (let i = 0; i < brokerCount; i++) {
      const nodeId = metadata.int32();
      const brokerHost = metadata.string();
      const brokerPort = metadata.int32();
      metadata.nullableString(); // rack
      brokers.push({ nodeId, host: brokerHost, port: brokerPort });
    }
    const clusterId = metadata.nullableString();
    const controllerId = metadata.int32();
    return { clusterId, controllerId, brokers, metadataVersion: version, apiCount };
  } finally {
    connection.close();
  }
}

/** probeKafka, but only a broker that lists at least one live broker counts as healthy. */
export async function kafkaHealthy(host: string, port: number, timeoutMs = 3000): Promise<KafkaProbeResult> {
  const result = await probeKafka(host, port, timeoutMs);
  if (result.brokers.length === 0) throw new Error('broker answers but lists no live broker yet');
  return result;
}
