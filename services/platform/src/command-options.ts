/**
 * Options of the commands that take a domain's own flags (`simulate`, `replay`): `--some-option v` maps to the
 * schema's `someOption`, values are converted and defaulted by the schema, and a bad one stops with its flag
 * name, like configuration does.
 */
import { ConfigError } from '@kansoku/kit';
import type { TObject, TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';

const camel = (flag: string) => flag.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
const kebab = (key: string) => key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

/**
 * @param commandFlags flags the command itself takes (listed in the error for an unknown flag).
 */
export function optionsFromFlags(
  schema: TObject,
  flags: Record<string, string>,
  commandFlags: string[] = [],
): Record<string, unknown> {
  const properties = schema.properties as Record<string, TSchema>;
  const raw: Record<string, unknown> = {};
  for (const [flag, value] of Object.entries(flags)) {
    const key = camel(flag);
    if (!(key in properties)) {
      const known = [...Object.keys(properties).map((k) => `--${kebab(k)}`), ...commandFlags];
      throw new ConfigError(`--${flag}`, `unknown option (known: ${known.join(', ')})`);
    }
    raw[key] = value;
  }
  const options = Value.Convert(schema, Value.Default(schema, raw)) as Record<string, unknown>;
  const error = Value.Errors(schema, options).First();
  if (error) {
    const key = error.path.replace(/^\//, '');
    throw new ConfigError(`--${kebab(key)}`, `${error.message}; got ${JSON.stringify(raw[key] ?? null)}`);
  }
  return options;
}

/** Positionals and `--flag value` / `--flag=value` pairs; every flag takes a value. */
export function parseFlags(args: string[]): { positionals: string[]; flags: Record<string, string> } {
  const positionals: string[] = [];
  const flags: Record<string, string> = {};
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (!arg.startsWith('--')) {
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    if (eq > 0) flags[arg.slice(2, eq)] = arg.slice(eq + 1);
    else {
      const value = args[i + 1];
      if (value === undefined || value.startsWith('--')) throw new ConfigError(arg, 'needs a value');
      flags[arg.slice(2)] = value;
      i++;
    }
  }
  return { positionals, flags };
}
