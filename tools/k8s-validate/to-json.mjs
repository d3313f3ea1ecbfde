#!/usr/bin/env node
// Multi-document YAML (files, or stdin with "-") → one JSON array of its non-empty documents on stdout, so tests in
// other languages can read rendered manifests without a YAML library of their own.
import { readFileSync } from "node:fs";
import { parseAllDocuments } from "yaml";

const out = [];
for (const file of process.argv.slice(2).length ? process.argv.slice(2) : ["-"]) {
  for (const doc of parseAllDocuments(readFileSync(file === "-" ? 0 : file, "utf8"))) {
    if (doc.errors.length) { console.error(`${file}: ${doc.errors[0].message}`); process.exit(2); }
    const obj = doc.toJS();
    if (obj !== null && obj !== undefined) out.push(obj);
  }
}
process.stdout.write(JSON.stringify(out));
