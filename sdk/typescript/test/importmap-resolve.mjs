// The resolve hook of importmap-hooks.mjs.
import { readFileSync } from 'node:fs';

let imports = {};
let base;

export function initialize({ map, base: b }) {
  imports = JSON.parse(readFileSync(map, 'utf8')).imports;
  base = b;
}

export async function resolve(specifier, context, next) {
  if (specifier.startsWith('node:') || specifier.startsWith('file:') || specifier.startsWith('.') || specifier.startsWith('/')) {
    return next(specifier, context);
  }
  const prefix = Object.keys(imports).find((p) => specifier.startsWith(p));
  if (!prefix) throw new Error(`bare specifier ${specifier} is not in the import map`);
  return next(new URL(imports[prefix] + specifier.slice(prefix.length), base).href, context);
}
