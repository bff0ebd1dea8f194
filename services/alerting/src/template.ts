/**
 * The small template language of annotations and label values: `{{ $labels.exporter }}`,
 * `{{ $value }}`, `{{ $baseline }}`, `{{ $threshold }}`, each optionally piped through `humanize`
 * (SI prefixes), `humanizeBits` (bit rates: 1.2 Gbps), `humanizePercentage` (0.25 → 25%) or
 * `humanizeDuration` (seconds → 1h 2m). Templates are compiled when rules load, so a typo stops
 * startup instead of paging someone with a broken text at 3 a.m.
 */

export interface TemplateData {
  labels: Record<string, string>;
  value: number;
  baseline?: number;
  threshold?: number;
}

type Piece = string | ((data: TemplateData) => string);
export type CompiledTemplate = (data: TemplateData) => string;

export class TemplateError extends Error {}

const EXPRESSION =
  /^\s*\$(labels\.[A-Za-z_][A-Za-z0-9_]*|value|baseline|threshold)\s*((?:\|\s*[A-Za-z]+\s*)*)$/;

function si(value: number, unit: string): string {
  if (!Number.isFinite(value)) return String(value);
  const prefixes = ['', 'k', 'M', 'G', 'T', 'P', 'E'];
  let v = Math.abs(value);
  let i = 0;
  while (v >= 1000 && i < prefixes.length - 1) {
    v /= 1000;
    i++;
  }
  const text = v >= 100 || Number.isInteger(v) ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2);
  return `${value < 0 ? '-' : ''}${text}${unit ? ' ' : ''}${prefixes[i]}${unit}`.replace(/ $/, '');
}

function duration(seconds: number): string {
  if (!Number.isFinite(seconds)) return String(seconds);
  let rest = Math.round(Math.abs(seconds));
  const parts: string[] = [];
  for (const [unit, size] of [
    ['d', 86_400],
    ['h', 3600],
    ['m', 60],
    ['s', 1],
  ] as const) {
    const n = Math.floor(rest / size);
    if (n > 0 || (unit === 's' && parts.length === 0)) parts.push(`${n}${unit}`);
    rest -= n * size;
  }
  return parts.join(' ');
}

const PIPES: Record<string, (value: number) => string> = {
  humanize: (v) => si(v, '').trim(),
  humanizeBits: (v) => si(v, 'bps'),
  humanizePercentage: (v) => `${Number.isFinite(v) ? Number((v * 100).toPrecision(3)) : v}%`,
  humanizeDuration: duration,
};

function formatNumber(value: number | undefined): string {
  if (value === undefined) return '';
  return Number.isInteger(value) ? String(value) : String(Number(value.toPrecision(6)));
}

function compileExpression(source: string): (data: TemplateData) => string {
  const match = EXPRESSION.exec(source);
  if (!match) {
    throw new TemplateError(
      `{{${source}}} is not a known expression ($labels.<name>, $value, $baseline, $threshold)`,
    );
  }
  const variable = match[1] as string;
  const pipes = (match[2] ?? '')
    .split('|')
    .map((p) => p.trim())
    .filter((p) => p.length > 0);
  for (const pipe of pipes) {
    if (!(pipe in PIPES))
      throw new TemplateError(`unknown function ${pipe} (known: ${Object.keys(PIPES).join(', ')})`);
  }
  if (variable.startsWith('labels.')) {
    const name = variable.slice('labels.'.length);
    if (pipes.length > 0) throw new TemplateError(`$labels.${name} is text: it takes no function`);
    return (data) => data.labels[name] ?? '';
  }
  const pick = (data: TemplateData): number | undefined =>
    variable === 'value' ? data.value : variable === 'baseline' ? data.baseline : data.threshold;
  return (data) => {
    const value = pick(data);
    if (value === undefined) return '';
    if (pipes.length === 0) return formatNumber(value);
    // Functions turn a number into text, so only the last one applies (as a chain of one).
    return (PIPES[pipes[pipes.length - 1] as string] as (v: number) => string)(value);
  };
}

export function compileTemplate(text: string): CompiledTemplate {
  const pieces: Piece[] = [];
  let rest = text;
  while (rest.length > 0) {
    const open = rest.indexOf('{{');
    if (open < 0) {
      if (rest.includes('}}')) throw new TemplateError('"}}" without "{{"');
      pieces.push(rest);
      break;
    }
    if (open > 0) {
      const literal = rest.slice(0, open);
      if (literal.includes('}}')) throw new TemplateError('"}}" without "{{"');
      pieces.push(literal);
    }
    const close = rest.indexOf('}}', open + 2);
    if (close < 0 || rest.slice(open + 2, close).includes('{{')) {
      throw new TemplateError('"{{" without "}}"');
    }
    pieces.push(compileExpression(rest.slice(open + 2, close)));
    rest = rest.slice(close + 2);
  }
  if (pieces.every((p) => typeof p === 'string')) {
    const constant = pieces.join('');
    return () => constant;
  }
  return (data) => pieces.map((p) => (typeof p === 'string' ? p : p(data))).join('');
}
