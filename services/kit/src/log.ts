import { Type } from '@sinclair/typebox';
import { type Logger, pino } from 'pino';
import { defineSection, type SectionValue } from './config.ts';

export type { Logger };

export const logSection = defineSection(
  'log',
  Type.Object({
    level: Type.Union(
      ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l)),
      { default: 'info', description: 'Lowest level written' },
    ),
  }),
);

/** JSON lines on stdout (pino): one logger per process, children per component. */
export function createLogger(config: SectionValue<typeof logSection>, name = 'kansoku'): Logger {
  return pino({ name, level: config.level, base: { pid: process.pid } });
}

/** A logger that writes nothing, for tests and `--check`. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
