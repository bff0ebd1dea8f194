import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Type } from '@sinclair/typebox';
import { describe, expect, it } from 'vitest';
import { defineSection, envName, loadConfig } from '../src/config.ts';
import { ConfigError } from '../src/errors.ts';

const gateway = defineSection(
  'gateway',
  Type.Object({
    port: Type.Integer({ default: 8080, minimum: 1, maximum: 65535 }),
    host: Type.String({ default: '127.0.0.1' }),
    tokens: Type.Array(Type.String(), { default: [] }),
  }),
  ['tokens'],
);
const kafka = defineSection(
  'kafka',
  Type.Object({
    brokers: Type.Array(Type.String(), { default: ['127.0.0.1:9092'] }),
    maxBatchMessages: Type.Integer({ default: 1000 }),
  }),
);

function yamlFile(text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'kansoku-config-'));
  const path = join(dir, 'kansoku.yaml');
  writeFileSync(path, text);
  return path;
}

describe('config', () => {
  it('names environment variables KANSOKU_<SECTION>_<KEY> in upper snake case', () => {
    expect(envName('gateway', 'port')).toBe('KANSOKU_GATEWAY_PORT');
    expect(envName('kafka', 'maxBatchMessages')).toBe('KANSOKU_KAFKA_MAX_BATCH_MESSAGES');
  });

  it('applies defaults, then the file, then the environment', () => {
    const file = yamlFile('gateway:\n  port: 9000\n  host: 0.0.0.0\nkafka:\n  maxBatchMessages: 50\n');
    const config = loadConfig([gateway, kafka], {
      file,
      env: { KANSOKU_GATEWAY_PORT: '9100', KANSOKU_KAFKA_BROKERS: 'a:1, b:2' },
    });
    expect(config.get(gateway)).toEqual({ port: 9100, host: '0.0.0.0', tokens: [] });
    expect(config.get(kafka)).toEqual({ brokers: ['a:1', 'b:2'], maxBatchMessages: 50 });
  });

  it('names the bad key and the variable it came from', () => {
    let error: unknown;
    try {
      loadConfig([gateway], { env: { KANSOKU_GATEWAY_PORT: 'not-a-port' } });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).key).toBe('gateway.port');
    expect((error as ConfigError).message).toContain("'not-a-port'");
    expect((error as ConfigError).message).toContain('KANSOKU_GATEWAY_PORT');
  });

  it('refuses out-of-range values and unknown keys in the file', () => {
    expect(() => loadConfig([gateway], { env: { KANSOKU_GATEWAY_PORT: '70000' } })).toThrow(/gateway\.port/);
    expect(() => loadConfig([gateway], { file: yamlFile('gateway:\n  prot: 1\n') })).toThrow(
      /gateway\.prot: unknown key/,
    );
    expect(() => loadConfig([gateway], { file: yamlFile('gatway:\n  port: 1\n') })).toThrow(
      /gatway: unknown section/,
    );
    expect(() => loadConfig([gateway], { file: yamlFile('gateway: [1\n') })).toThrow(/not valid YAML/);
  });

  it('redacts secrets in the dump', () => {
    const config = loadConfig([gateway], { env: { KANSOKU_GATEWAY_TOKENS: 's3cret' } });
    expect(config.get(gateway).tokens).toEqual(['s3cret']);
    expect(config.dump()).not.toContain('s3cret');
    expect(config.dump()).toContain('port: 8080');
  });
});
