// Where the golden vectors live and how they are written: lower-case hex, 32 octets per line, trailing newline.

import { fileURLToPath } from 'node:url';

export const GOLDEN_DIR = fileURLToPath(new URL('.', import.meta.url));

export function goldenPath(name: string): string {
  return `${GOLDEN_DIR}${name}.hex`;
}

export function formatHex(bytes: Uint8Array): string {
  const hex = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
  const lines = hex.match(/.{1,64}/g) ?? [];
  return `${lines.join('\n')}\n`;
}

export function parseHex(text: string): Uint8Array {
  const hex = text.replace(/\s+/g, '');
  if (!/^([0-9a-f]{2})*$/.test(hex)) throw new Error('golden vector is not lower-case hex octets');
  return new Uint8Array(Buffer.from(hex, 'hex'));
}
