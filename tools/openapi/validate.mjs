// Validates an OpenAPI 3.x document file offline:
//   1. against the OpenAPI specification, with @readme/openapi-parser (schema of the spec plus its extra rules:
//      unique operation ids, path parameters declared and required, security schemes well formed…);
//   2. every `example` of a request or response media type against that media type's schema, with Ajv, so that
//      examples cannot drift from the types the service really reads and writes.
// Usage: node validate.mjs <file.json>. Exit 0 and a "valid: …" line when both pass, 1 with the errors otherwise,
// 2 on bad usage. External $refs are never resolved: the document must be self-contained.
import { readFile } from 'node:fs/promises';
import { validate, compileErrors } from '@readme/openapi-parser';
import Ajv from 'ajv';

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

// The parser dereferences in place: hand it a copy, the example check needs the $refs.
const result = await validate(structuredClone(api), {
  resolve: { external: false, file: false },
  validate: { errors: { colorize: false } },
});
for (const w of result.warnings ?? []) console.error(`warning: ${w.message}`);
if (!result.valid) {
  console.error(`invalid: ${file}`);
  console.error(compileErrors(result));
  process.exit(1);
}

// OpenAPI 3.0 schema objects → JSON Schema: `nullable` becomes a null alternative, refs point into one registered
// document. Formats (int32, binary…) are OpenAPI's, not JSON Schema's, and are not checked.
function toJsonSchema(node) {
  if (Array.isArray(node)) return node.map(toJsonSchema);
  if (node === null || typeof node !== 'object') return node;
  const out = {};
  for (const [k, v] of Object.entries(node)) {
    if (k === 'nullable' || k === 'example' || k === 'xml' || k === 'discriminator') continue;
    if (k === '$ref' && typeof v === 'string' && v.startsWith('#/')) out.$ref = `openapi-components${v}`;
    else out[k] = k === 'properties' ? Object.fromEntries(Object.entries(v).map(([p, s]) => [p, toJsonSchema(s)])) : toJsonSchema(v);
  }
  return node.nullable === true ? { anyOf: [out, { type: 'null' }] } : out;
}

const ajv = new Ajv({ strict: false, validateFormats: false, allErrors: true });
ajv.addSchema({ $id: 'openapi-components', components: { schemas: toJsonSchema(api.components?.schemas ?? {}) } });

const failures = [];
let checked = 0;
const check = (where, media) => {
  if (!media?.schema || media.example === undefined) return;
  checked++;
  const ok = ajv.validate(toJsonSchema(media.schema), media.example);
  if (!ok) failures.push(`${where}: ${ajv.errorsText(ajv.errors, { dataVar: 'example' })}`);
};
for (const [path, item] of Object.entries(api.paths ?? {})) {
  for (const [method, op] of Object.entries(item)) {
    if (typeof op !== 'object' || !op.responses) continue;
    for (const [type, media] of Object.entries(op.requestBody?.content ?? {})) check(`${method.toUpperCase()} ${path} request ${type}`, media);
    for (const [status, response] of Object.entries(op.responses)) {
      for (const [type, media] of Object.entries(response.content ?? {})) check(`${method.toUpperCase()} ${path} ${status} ${type}`, media);
    }
  }
}
if (failures.length > 0) {
  console.error(`invalid: ${file}: ${failures.length} of ${checked} examples do not match their schemas`);
  for (const f of failures) console.error(`  ${f}`);
  process.exit(1);
}

const operations = Object.values(api.paths ?? {}).reduce((n, item) => n + Object.keys(item).filter(m => item[m]?.responses).length, 0);
console.log(`valid: ${result.specification} ${api.openapi ?? api.swagger}, ${operations} operations, ${checked} examples match their schemas`);
