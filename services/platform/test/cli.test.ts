import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const TSX = fileURLToPath(new URL('../../../node_modules/.bin/tsx', import.meta.url));
const CLI = fileURLToPath(new URL('../src/cli.ts', import.meta.url));

function kansoku(args: string[], env: Record<string, string> = {}) {
  const result = spawnSync(TSX, [CLI, ...args], {
    env: { ...process.env, ...env },
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

// Each case starts the CLI with tsx (1–3 s, more on a busy 2-core machine).
describe('kansoku CLI', { timeout: 30_000 }, () => {
  it('up --check exits non-zero naming the bad key and where it came from', () => {
    const out = kansoku(['up', '--check'], { KANSOKU_GATEWAY_PORT: 'not-a-port' });
    expect(out.code).toBe(2);
    expect(out.stderr).toContain('gateway.port');
    expect(out.stderr).toContain("'not-a-port'");
    expect(out.stderr).toContain('KANSOKU_GATEWAY_PORT');
    expect(out.stderr).not.toMatch(/\n\s+at /); // a message, not a stack trace
  });

  it('up --except leaves the named services out, and names an unknown one', () => {
    const out = kansoku(['up', '--check', '--except', 'flows-collector,dns-collector']);
    expect(out.code).toBe(0);
    expect(out.stdout).toMatch(/^configuration is valid \(.*flows-processor.*\)$/m);
    expect(out.stdout).not.toContain('flows-collector');
    expect(out.stdout).not.toContain('dns-collector');
    const bad = kansoku(['up', '--check', '--except', 'flows-colector']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("unknown service 'flows-colector'");
  });

  it('replay names what it can replay, and refuses an unknown replayer or a missing file', () => {
    const list = kansoku(['replay']);
    expect(list.code).toBe(2);
    expect(list.stdout).toContain('usage: pnpm kansoku replay <name> <file>');
    const unknown = kansoku(['replay', 'no-such-kind', 'x']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("no replayer 'no-such-kind'");
  });

  it('up --check validates every service without starting anything', () => {
    const out = kansoku(['up', '--check'], { KANSOKU_KAFKA_BROKERS: '127.0.0.1:1' });
    expect(out.code).toBe(0);
    expect(out.stdout).toMatch(/^configuration is valid \(.*flows-processor.*gateway\)$/m);
  });

  it('--dump prints the effective configuration with secrets redacted', () => {
    const out = kansoku(['run', 'gateway', '--dump'], {
      KANSOKU_GATEWAY_TOKENS: 'admin:very-secret-token',
      KANSOKU_FLOWS_PROCESSOR_MAX_BATCH_MESSAGES: '123',
    });
    expect(out.code).toBe(0);
    expect(out.stdout).toContain('maxBatchMessages: 123');
    expect(out.stdout).toContain('<redacted>');
    expect(out.stdout).not.toContain('very-secret-token');
  });

  it('refuses an unknown service or command with usage help', () => {
    const unknownService = kansoku(['run', 'flows-procesor', '--check']);
    expect(unknownService.code).toBe(2);
    expect(unknownService.stderr).toContain("unknown service 'flows-procesor'");
    const unknownCommand = kansoku(['upp']);
    expect(unknownCommand.code).toBe(2);
    expect(unknownCommand.stderr).toContain("unknown command 'upp'");
  });

  it('refuses a config file with an unknown key', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'kansoku-cli-')), 'kansoku.yaml');
    writeFileSync(file, 'gateway:\n  prot: 8081\n');
    const out = kansoku(['up', '--check', '--config', file]);
    expect(out.code).toBe(2);
    expect(out.stderr).toContain('gateway.prot: unknown key');
  });
});
