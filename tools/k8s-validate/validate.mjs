#!/usr/bin/env node
// Validates Kubernetes manifests (multi-document YAML: files, or stdin with "-") offline against the OpenAPI schemas
// of the built-in kinds, as compiled into the `kubernetes-models` package (types, enums, required fields, formats).
// Those schemas allow unknown fields, while `kubectl apply` (strict field validation) rejects them, so a misspelt
// field such as `readinesProbe` would pass silently: the field names are therefore also checked against the same
// package's generated type declarations.
//
// Exit codes: 0 every object is valid, 1 at least one is not, 2 usage or input errors.
import { readFileSync, readdirSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { parseAllDocuments } from "yaml";

const require = createRequire(import.meta.url);
const modelsRoot = dirname(require.resolve("kubernetes-models/package.json"));
const machineryRoot = dirname(require.resolve("@kubernetes-models/apimachinery/package.json"));

function* declarationFiles(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) { if (entry.name !== "_schemas" && entry.name !== "node_modules") yield* declarationFiles(path); }
    else if (entry.name.endsWith(".d.ts")) yield path;
  }
}

// A property's type, reduced to what the walk needs: a named interface, an array or a string-keyed map of
// something, or a leaf (scalars, enums, Quantity/IntOrString/Time aliases) that the schema validator covers alone.
function typeOf(text) {
  let m;
  if ((m = /^Array<(.+)>$/s.exec(text))) return { array: typeOf(m[1].trim()) };
  if ((m = /^\{\s*\[key: string\]:\s*(.+?);?\s*\}$/s.exec(text))) return { map: typeOf(m[1].trim()) };
  if (/^I[A-Za-z0-9]+$/.test(text)) return { ref: text };
  return { leaf: text };
}

function propertiesOf(body) {
  const props = new Map();
  const text = body.replace(/\/\*[\s\S]*?\*\//g, "").split("\n").filter(l => l.trim()).join("\n");
  // One property per `"name"?: type;` at the interface's own indentation; map types span several lines.
  const re = /^ {4}"([^"]+)"\??: ([\s\S]*?);\n(?= {4}"|$)/gm;
  let m;
  while ((m = re.exec(text + "\n"))) props.set(m[1], typeOf(m[2].trim()));
  return props;
}

// Interface name (both its local and its exported IIo… alias) → Map(property → type).
const interfaces = new Map();
for (const root of [modelsRoot, machineryRoot]) {
  for (const file of declarationFiles(root)) {
    const src = readFileSync(file, "utf8");
    const local = new Map();
    for (const m of src.matchAll(/^export interface (\w+)(?: extends [^{]+)? \{\n([\s\S]*?)^\}/gm)) local.set(m[1], propertiesOf(m[2]));
    for (const [name, props] of local) if (!interfaces.has(name) || name.startsWith("IIo")) interfaces.set(name, props);
    for (const m of src.matchAll(/export type \{([^}]*)\}/g)) {
      for (const part of m[1].split(",")) {
        const [from, to] = part.split(" as ").map(s => s.trim());
        if (to && local.has(from)) interfaces.set(to, local.get(from));
      }
    }
  }
}

function unknownFields(value, type, path, out) {
  if (value === null || value === undefined) return;
  if (type.array) { if (Array.isArray(value)) value.forEach((v, i) => unknownFields(v, type.array, `${path}/${i}`, out)); return; }
  if (type.map) { if (typeof value === "object") for (const [k, v] of Object.entries(value)) unknownFields(v, type.map, `${path}/${k}`, out); return; }
  if (!type.ref || typeof value !== "object" || Array.isArray(value)) return;
  const props = interfaces.get(type.ref);
  if (!props) return; // an alias of scalars (Quantity, IntOrString…), or free-form JSON
  for (const [k, v] of Object.entries(value)) {
    const t = props.get(k);
    if (t === undefined) out.push(`${path}/${k}: unknown field "${k}"`);
    else unknownFields(v, t, `${path}/${k}`, out);
  }
}

async function modelFor(apiVersion, kind) {
  if (typeof apiVersion !== "string" || typeof kind !== "string" || !/^[A-Za-z0-9./]+$/.test(apiVersion) || !/^[A-Za-z0-9]+$/.test(kind))
    return null;
  try {
    const mod = await import(`kubernetes-models/${apiVersion}/${kind}`);
    return mod[kind] ?? null;
  } catch {
    return null;
  }
}

async function validateObject(obj) {
  const errors = [];
  if (obj === null || typeof obj !== "object" || Array.isArray(obj)) return ["not a mapping"];
  const Model = await modelFor(obj.apiVersion, obj.kind);
  if (!Model) return [`unknown apiVersion/kind ${obj.apiVersion}/${obj.kind} (no built-in schema)`];
  try {
    new Model(obj).validate();
  } catch (e) {
    errors.push(...String(e.message).split(/,\s*(?=data)/));
  }
  if (typeof obj.metadata?.name !== "string" || obj.metadata.name.length === 0) errors.push("metadata.name is required");
  const topType = topLevelType(obj.apiVersion, obj.kind);
  if (!topType || !interfaces.has(topType)) errors.push(`no field declarations found for ${obj.apiVersion}/${obj.kind}`);
  else unknownFields(obj, { ref: topType }, "", errors);
  return errors;
}

// The exported alias of a kind's interface, read from its own declaration file (apps/v1/Deployment.d.ts).
function topLevelType(apiVersion, kind) {
  try {
    const src = readFileSync(join(modelsRoot, apiVersion, `${kind}.d.ts`), "utf8");
    const m = new RegExp(`I${kind} as (IIo\\w+)`).exec(src);
    return m ? m[1] : null;
  } catch {
    return null;
  }
}

async function main(argv) {
  if (argv.length === 0) {
    console.error("usage: validate.mjs FILE.yaml... (or - for stdin)");
    return 2;
  }
  let failed = 0, checked = 0;
  for (const file of argv) {
    let text;
    try { text = readFileSync(file === "-" ? 0 : file, "utf8"); }
    catch (e) { console.error(`${file}: ${e.message}`); return 2; }
    for (const doc of parseAllDocuments(text)) {
      if (doc.errors.length) { console.error(`${file}: YAML error: ${doc.errors[0].message}`); return 2; }
      const obj = doc.toJS();
      if (obj === null || obj === undefined) continue;
      checked++;
      const name = `${obj.apiVersion ?? "?"} ${obj.kind ?? "?"} ${obj.metadata?.name ?? "?"}`;
      const errors = await validateObject(obj);
      if (errors.length) {
        failed++;
        console.log(`FAIL ${name}`);
        for (const e of errors) console.log(`     ${e}`);
      } else console.log(`ok   ${name}`);
    }
  }
  if (checked === 0) { console.error("no objects found"); return 2; }
  console.log(`${checked} objects, ${failed} invalid`);
  return failed ? 1 : 0;
}

process.exitCode = await main(process.argv.slice(2));
