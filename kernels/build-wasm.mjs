// The WebAssembly part of the kernels build: compiles every kernels/<name>.wat with wabt (SIMD,
// threads and relaxed-SIMD features on) to bytes. A line `;; @include <file>` is replaced by that
// file of kernels/ (shared SIMD math such as vmath.inc.wat; *.inc.wat files are not modules). A kernel that uses f32x4.relaxed_madd also gets
// a "<name>-plain" variant, the same source with each (f32x4.relaxed_madd a b c) rewritten as
// (f32x4.add (f32x4.mul a b) c), for runtimes without relaxed SIMD (Node 20's V8); the CPU
// backend's loader picks one by feature detection.
import fs from 'node:fs';
import path from 'node:path';
import wabtInit from 'wabt';

/** Rewrites every folded (f32x4.relaxed_madd a b c) into (f32x4.add (f32x4.mul a b) c). */
export function plainVariant(src) {
  const head = '(f32x4.relaxed_madd';
  let out = '';
  let i = 0;
  for (let at = src.indexOf(head); at >= 0; at = src.indexOf(head, i)) {
    out += src.slice(i, at);
    let p = at + head.length;
    const args = [];
    for (let n = 0; n < 3; n++) {
      while (/\s/.test(src[p])) p++;
      const start = p;
      if (src[p] !== '(') throw new Error(`plainVariant: expected a folded operand at offset ${p}`);
      for (let depth = 0; ; p++) {
        if (src[p] === '(') depth++;
        else if (src[p] === ')' && --depth === 0) { p++; break; }
        if (p >= src.length) throw new Error('plainVariant: unbalanced parentheses');
      }
      args.push(src.slice(start, p));
    }
    while (/\s/.test(src[p])) p++;
    if (src[p] !== ')') throw new Error(`plainVariant: relaxed_madd at offset ${at} does not take exactly 3 operands`);
    out += `(f32x4.add (f32x4.mul ${args[0]} ${args[1]}) ${args[2]})`;
    i = p + 1;
  }
  return out + src.slice(i);
}

/** The source with every `;; @include <file>` line replaced by that file's text (one level). */
export function expandIncludes(src, dir) {
  return src.replace(/^[ \t]*;;[ \t]*@include[ \t]+(\S+)[ \t]*$/gm, (_, file) => fs.readFileSync(path.join(dir, file), 'utf8'));
}

/** { name: bytes } for every .wat in dir (and its -plain variant where relaxed SIMD is used). */
export async function buildWasm(dir) {
  const wabt = await wabtInit();
  const features = { simd: true, threads: true, relaxed_simd: true };
  const compile = (name, src) => {
    const mod = wabt.parseWat(`${name}.wat`, src, features);
    try {
      mod.validate(features);
      return new Uint8Array(mod.toBinary({}).buffer);
    } finally {
      mod.destroy();
    }
  };
  const out = {};
  for (const file of fs.readdirSync(dir).filter((f) => f.endsWith('.wat') && !f.endsWith('.inc.wat')).sort()) {
    const name = file.slice(0, -4);
    const src = expandIncludes(fs.readFileSync(path.join(dir, file), 'utf8'), dir);
    out[name] = compile(name, src);
    if (src.includes('f32x4.relaxed_madd')) out[`${name}-plain`] = compile(`${name}-plain`, plainVariant(src));
  }
  return out;
}
