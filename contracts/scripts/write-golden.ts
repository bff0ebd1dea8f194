// Rewrites the golden byte vectors in test/golden/ from test/golden/fixtures.ts.
//
//   pnpm --filter @kansoku/contracts golden      (or: npx tsx contracts/scripts/write-golden.ts)
//
// Run it only on purpose: when a fixture gains a value for a new field, or a new message type gets a fixture.
// The diff of the .hex files is then part of the change under review. The tests never write these files.

import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { toBinary } from '@bufbuild/protobuf';
import { goldenFixtures } from '../test/golden/fixtures.ts';
import { formatHex, GOLDEN_DIR, goldenPath } from '../test/golden/vectors.ts';

function readOrEmpty(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

const written = new Set<string>();
for (const fixture of goldenFixtures) {
  const path = goldenPath(fixture.name);
  const text = formatHex(toBinary(fixture.schema, fixture.message));
  const before = readOrEmpty(path);
  written.add(`${fixture.name}.hex`);
  if (before === text) {
    console.log(`unchanged ${fixture.name}.hex`);
    continue;
  }
  writeFileSync(path, text);
  console.log(`${before === '' ? 'created  ' : 'updated  '} ${fixture.name}.hex`);
}

for (const file of readdirSync(GOLDEN_DIR)) {
  if (file.endsWith('.hex') && !written.has(file)) {
    rmSync(`${GOLDEN_DIR}${file}`);
    console.log(`removed   ${file} (no fixture)`);
  }
}
