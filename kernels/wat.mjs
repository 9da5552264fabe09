// Text transforms kernels/build.mjs applies to .wat sources before wabt compiles them.

/** The source with every `;; @include <file>` line replaced by read(file) (one level deep). */
export function expandIncludes(src, read) {
  return src.replace(/^[ \t]*;;[ \t]*@include[ \t]+(\S+)[ \t]*$/gm, (_, file) => read(file));
}

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
