// Validates an OpenAPI document file against the OpenAPI 3.x specification with @readme/openapi-parser.
// Usage: node validate.mjs <file.json>. Exit 0 and "valid: …" when valid, exit 1 with the errors otherwise,
// exit 2 on bad usage. External $refs are not resolved: the service's document must be self-contained, and the
// check must work offline.
import { readFile } from 'node:fs/promises';
import { validate, compileErrors } from '@readme/openapi-parser';

const file = process.argv[2];
if (!file) {
  console.error('usage: node validate.mjs <openapi.json>');
  process.exit(2);
}

let api;
try {
  api = JSON.parse(await readFile(file, 'utf8'));
} catch (e) {
  console.error(`invalid: ${file} is not readable JSON: ${e.message}`);
  process.exit(1);
}

const result = await validate(api, {
  resolve: { external: false, file: false },
  validate: { errors: { colorize: false } },
});
for (const w of result.warnings ?? []) console.error(`warning: ${w.message}`);
if (!result.valid) {
  console.error(`invalid: ${file}`);
  console.error(compileErrors(result));
  process.exit(1);
}
const paths = Object.keys(api.paths ?? {}).length;
console.log(`valid: ${result.specification} ${api.openapi ?? api.swagger}, ${paths} paths, ${api.info?.title} ${api.info?.version}`);
