import { describe, expect, it } from 'vitest';
import { formatMarkdownTable, formatTable, intFlag, listFlag, median, parseArgv } from '../src/benchmark.ts';

describe('benchmark harness helpers', () => {
  it('parses positional words and the three flag forms', () => {
    const { positional, flags } = parseArgv([
      'kafka-clients',
      '--runs',
      '2',
      '--sizes=200,1024',
      '--verbose',
    ]);
    expect(positional).toEqual(['kafka-clients']);
    expect(flags).toEqual({ runs: '2', sizes: '200,1024', verbose: true });
    // A word after a bare flag is its value; the next flag is not.
    expect(parseArgv(['--a', 'b', '--c', '--d']).flags).toEqual({ a: 'b', c: true, d: true });
  });

  it('reads typed flags and rejects bad ones', () => {
    expect(intFlag({ messages: '200_000' }, 'messages', 1)).toBe(200_000);
    expect(intFlag({}, 'messages', 7)).toBe(7);
    expect(() => intFlag({ messages: 'many' }, 'messages', 1)).toThrow(/--messages/);
    expect(() => intFlag({ messages: true }, 'messages', 1)).toThrow(/--messages/);
    expect(listFlag({ sizes: '200, 1024,' }, 'sizes', [])).toEqual(['200', '1024']);
  });

  it('takes the median of odd and even samples', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([])).toBeNaN();
  });

  it('aligns numbers right and text left', () => {
    const table = {
      columns: ['client', 'msgs/s'],
      rows: [
        ['a', 1234567],
        ['bbbb', 12],
      ],
    };
    expect(formatTable(table).split('\n')).toEqual([
      'client     msgs/s',
      '------  ---------',
      'a       1,234,567',
      'bbbb           12',
    ]);
    expect(formatMarkdownTable(table)).toBe(
      '| client | msgs/s |\n| --- | ---: |\n| a | 1,234,567 |\n| bbbb | 12 |',
    );
  });
});
