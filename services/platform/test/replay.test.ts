import { ConfigError } from '@kansoku/kit';
import { Type } from '@sinclair/typebox';
import { describe, expect, it } from 'vitest';
import { optionsFromFlags, parseFlags } from '../src/command-options.ts';
import { createProgressBar } from '../src/replay.ts';

describe('replay progress bar', () => {
  it('draws share, sizes, count, rate and an ETA from what the replayer reports', () => {
    let t = 0;
    const written: string[] = [];
    const bar = createProgressBar({ isTTY: false, write: (s: string) => written.push(s) }, () => t);
    bar.setTotal(10 * 1024 * 1024);
    t = 10_000;
    bar.update(5 * 1024 * 1024, 50_000);
    expect(bar.line()).toBe('[############............]  50.0%  5.0/10.0 MB  eta 0:10  50,000 sent  5,000/s');
    // Not a terminal: one line per 5 s at most, and a last line at the end.
    t = 11_000;
    bar.update(6 * 1024 * 1024, 60_000);
    expect(written).toHaveLength(1);
    bar.finish();
    expect(written).toHaveLength(2);
    expect(written[1]).toContain('60.0%');
  });

  it('redraws in place on a terminal and ends the line when done', () => {
    const written: string[] = [];
    const bar = createProgressBar({ isTTY: true, write: (s: string) => written.push(s) });
    bar.update(1024, 3);
    bar.finish();
    expect(written[0]?.startsWith('\r\u001b[2K')).toBe(true);
    expect(written.at(-1)).toBe('\n');
  });
});

describe('domain command options', () => {
  const schema = Type.Object({
    rate: Type.Integer({ minimum: 0, default: 0 }),
    mode: Type.Union([Type.Literal('rib'), Type.Literal('updates')], { default: 'rib' }),
  });

  it('maps kebab-case flags to the schema, converts and defaults them', () => {
    const { positionals, flags } = parseFlags(['mrt', 'file.gz', '--rate', '500', '--mode=updates']);
    expect(positionals).toEqual(['mrt', 'file.gz']);
    expect(optionsFromFlags(schema, flags)).toEqual({ rate: 500, mode: 'updates' });
    expect(optionsFromFlags(schema, {})).toEqual({ rate: 0, mode: 'rib' });
  });

  it('names the bad flag', () => {
    expect(() => optionsFromFlags(schema, { rate: 'fast' })).toThrow(/--rate/);
    expect(() => optionsFromFlags(schema, { speed: '2' }, ['--config'])).toThrow(
      /--speed.*known: --rate, --mode, --config/,
    );
    expect(() => parseFlags(['--rate'])).toThrow(ConfigError);
  });
});
