/**
 * Configuration: every component declares one TypeBox schema with defaults (a "section").
 * The effective value of a key is, from lowest to highest precedence:
 *   schema default → YAML file → environment variable KANSOKU_<SECTION>_<KEY>.
 * Validation happens once at boot and names the bad key and where its value came from.
 */
import { readFileSync } from 'node:fs';
import { Kind, type Static, type TObject, type TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { ConfigError, errorMessage } from './errors.ts';

export interface ConfigSection<S extends TObject = TObject> {
  /** Top-level key in the YAML file, and the <SECTION> part of environment variables. */
  name: string;
  schema: S;
  /** Keys whose values are never printed (tokens, passwords). */
  secretKeys?: string[];
}

export function defineSection<S extends TObject>(
  name: string,
  schema: S,
  secretKeys?: string[],
): ConfigSection<S> {
  return secretKeys ? { name, schema, secretKeys } : { name, schema };
}

export type SectionValue<C extends ConfigSection> = Static<C['schema']>;

type Source = { kind: 'default' } | { kind: 'file'; path: string } | { kind: 'env'; variable: string };

export interface LoadOptions {
  /** Path of a YAML file; absent means defaults and environment only. */
  file?: string;
  env?: NodeJS.ProcessEnv;
}

export interface LoadedConfig {
  get<C extends ConfigSection>(section: C): SectionValue<C>;
  /** The effective configuration of every section, secrets redacted, as YAML. */
  dump(): string;
}

/** `gatewayPort` → `GATEWAY_PORT`; `maxBatchMessages` → `MAX_BATCH_MESSAGES`. */
export function envName(section: string, key: string): string {
  const snake = (s: string) =>
    s
      .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
      .replace(/[-.]/g, '_')
      .toUpperCase();
  return `KANSOKU_${snake(section)}_${snake(key)}`;
}

function readFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError('config', `cannot read config file ${path}: ${errorMessage(error)}`);
  }
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (error) {
    throw new ConfigError('config', `config file ${path} is not valid YAML: ${errorMessage(error)}`);
  }
  if (doc === null || doc === undefined) return {};
  if (typeof doc !== 'object' || Array.isArray(doc)) {
    throw new ConfigError('config', `config file ${path} must hold a mapping of sections`);
  }
  return doc as Record<string, unknown>;
}

/** Environment values are strings; arrays are comma-separated, objects are JSON. */
function parseEnvValue(schema: TSchema, raw: string): unknown {
  const kind = schema[Kind];
  if (kind === 'Array')
    return raw
      .split(',')
      .map((part) => part.trim())
      .filter((part) => part.length > 0);
  if (kind === 'Object' || kind === 'Record') {
    try {
      return JSON.parse(raw);
    } catch {
      return raw;
    }
  }
  return raw;
}

function describeValue(value: unknown): string {
  return typeof value === 'string' ? `'${value}'` : JSON.stringify(value);
}

function describeSource(source: Source | undefined, variable: string): string {
  if (source?.kind === 'env') return `from ${source.variable}`;
  const origin = source?.kind === 'file' ? `from ${source.path}` : 'the default';
  return `${origin}; ${variable} overrides it`;
}

export function loadConfig(sections: ConfigSection[], options: LoadOptions = {}): LoadedConfig {
  const env = options.env ?? process.env;
  const file = options.file ? readFile(options.file) : {};
  const known = new Set(sections.map((s) => s.name));
  for (const name of Object.keys(file)) {
    if (!known.has(name)) {
      throw new ConfigError(
        name,
        `unknown section in ${options.file} (known: ${[...known].sort().join(', ')})`,
      );
    }
  }

  const values = new Map<string, Record<string, unknown>>();
  for (const section of sections) {
    const sources = new Map<string, Source>();
    const fromFile = file[section.name];
    if (
      fromFile !== undefined &&
      (typeof fromFile !== 'object' || fromFile === null || Array.isArray(fromFile))
    ) {
      throw new ConfigError(section.name, `must be a mapping in ${options.file}`);
    }
    const merged: Record<string, unknown> = {};
    for (const [key, value] of Object.entries((fromFile as Record<string, unknown> | undefined) ?? {})) {
      if (!(key in section.schema.properties)) {
        const keys = Object.keys(section.schema.properties).join(', ');
        throw new ConfigError(`${section.name}.${key}`, `unknown key in ${options.file} (known: ${keys})`);
      }
      merged[key] = value;
      sources.set(key, { kind: 'file', path: options.file ?? '' });
    }
    for (const [key, propertySchema] of Object.entries(
      section.schema.properties as Record<string, TSchema>,
    )) {
      const variable = envName(section.name, key);
      const raw = env[variable];
      if (raw !== undefined) {
        merged[key] = parseEnvValue(propertySchema, raw);
        sources.set(key, { kind: 'env', variable });
      }
    }
    const withDefaults = Value.Default(section.schema, Value.Clone(merged)) as Record<string, unknown>;
    const converted = Value.Convert(section.schema, withDefaults) as Record<string, unknown>;
    const firstError = Value.Errors(section.schema, converted).First();
    if (firstError) {
      const key = firstError.path.replace(/^\//, '').split('/')[0] ?? '';
      const path = firstError.path.replace(/^\//, '').replaceAll('/', '.');
      const shown = key in merged ? describeValue(merged[key]) : 'nothing';
      throw new ConfigError(
        `${section.name}.${path || '(section)'}`,
        `${firstError.message}; got ${shown} (${describeSource(sources.get(key), envName(section.name, key))})`,
      );
    }
    values.set(section.name, converted);
  }

  return {
    get<C extends ConfigSection>(section: C): SectionValue<C> {
      const value = values.get(section.name);
      if (!value) throw new ConfigError(section.name, 'section was not loaded by this service');
      return value as SectionValue<C>;
    },
    dump(): string {
      const out: Record<string, unknown> = {};
      for (const section of sections) {
        const value = { ...values.get(section.name) };
        for (const key of section.secretKeys ?? []) {
          if (
            value[key] !== undefined &&
            value[key] !== '' &&
            !(Array.isArray(value[key]) && value[key].length === 0)
          ) {
            value[key] = '<redacted>';
          }
        }
        out[section.name] = value;
      }
      return stringifyYaml(out);
    },
  };
}
