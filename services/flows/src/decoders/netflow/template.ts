/**
 * Templates and options templates as the decoder keeps them: the field list of a template record, checked
 * once when it arrives (or is restored from a snapshot) so that data records decode without re-checking.
 */

import { VARIABLE_LENGTH } from './fields.ts';

/** NetFlow v9 and IPFIX keep separate template spaces even when an exporter speaks both. */
export type TemplateProtocol = 9 | 10;

export interface TemplateField {
  /** Information Element id (without the enterprise bit). */
  readonly id: number;
  /** Declared length in octets; 65535 in IPFIX means variable length. */
  readonly length: number;
  /** Private Enterprise Number; 0 for IANA elements. */
  readonly enterprise: number;
}

export interface Template {
  readonly id: number;
  /** An options template: its records describe the exporter (samplers, system init time), not flows. */
  readonly options: boolean;
  /**
   * Leading scope fields of an options template. In NetFlow v9 they carry scope types (System, Interface, ...),
   * not Information Elements; in IPFIX they are ordinary elements (selectorId, ...).
   */
  readonly scopeFieldCount: number;
  readonly fields: readonly TemplateField[];
  /** Octets of the shortest possible record: fixed lengths plus one prefix octet per variable-length field. */
  readonly minRecordLength: number;
  /** Octets of every record when no field is variable length; undefined otherwise. */
  readonly fixedRecordLength: number | undefined;
  /** The Private Enterprise Number of each enterprise field, in field order (repeats kept, for counting). */
  readonly enterprises: readonly number[];
}

/** More fields than any real template has (IANA has about 500 elements); a larger count is corruption. */
export const MAX_TEMPLATE_FIELDS = 512;
/** Template ids below this are set ids, not templates (RFC 3954 §5.2, RFC 7011 §3.4.1). */
export const MIN_TEMPLATE_ID = 256;

/**
 * Builds a template from its field list, or returns why it cannot describe data. Used for templates off the
 * wire and for restored snapshots alike, so a corrupted snapshot is held to the same rules as a packet.
 */
export function compileTemplate(
  protocol: TemplateProtocol,
  id: number,
  options: boolean,
  scopeFieldCount: number,
  fields: readonly TemplateField[],
): Template | string {
  if (!Number.isInteger(id) || id < MIN_TEMPLATE_ID || id > 0xffff) return `template id ${id} is reserved`;
  if (fields.length === 0) return `template ${id} has no fields`;
  if (fields.length > MAX_TEMPLATE_FIELDS) return `template ${id} has ${fields.length} fields`;
  if (!Number.isInteger(scopeFieldCount) || scopeFieldCount < 0 || scopeFieldCount > fields.length) {
    return `template ${id} declares ${scopeFieldCount} scope fields of ${fields.length}`;
  }
  if (options && protocol === 10 && scopeFieldCount === 0) {
    return `options template ${id} has no scope field`;
  }
  let minRecordLength = 0;
  let variable = false;
  const enterprises: number[] = [];
  for (const field of fields) {
    if (!Number.isInteger(field.id) || field.id < 0 || field.id > 0xffff) return `field id ${field.id}`;
    if (!Number.isInteger(field.length) || field.length < 0 || field.length > 0xffff) {
      return `field length ${field.length}`;
    }
    if (!Number.isInteger(field.enterprise) || field.enterprise < 0 || field.enterprise > 0xffffffff) {
      return `enterprise number ${field.enterprise}`;
    }
    if (protocol === 10 && field.length === VARIABLE_LENGTH) {
      variable = true;
      minRecordLength += 1;
    } else {
      minRecordLength += field.length;
    }
    if (field.enterprise !== 0) enterprises.push(field.enterprise);
  }
  // A record of no octets would match an endless run of records in any set.
  if (minRecordLength === 0) return `template ${id} describes zero-length records`;
  return {
    id,
    options,
    scopeFieldCount,
    fields,
    minRecordLength,
    fixedRecordLength: variable ? undefined : minRecordLength,
    enterprises,
  };
}

/** Whether two templates describe the same records (a refresh rather than a redefinition). */
export function sameLayout(a: Template, b: Template): boolean {
  if (a.options !== b.options || a.scopeFieldCount !== b.scopeFieldCount) return false;
  if (a.fields.length !== b.fields.length) return false;
  for (let i = 0; i < a.fields.length; i++) {
    const x = a.fields[i]!;
    const y = b.fields[i]!;
    if (x.id !== y.id || x.length !== y.length || x.enterprise !== y.enterprise) return false;
  }
  return true;
}
