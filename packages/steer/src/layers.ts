// Which layers to steer by default.

/**
 * The paper steers Llama-2-7b-chat (32 layers) at layers −11 … −30, i.e. 0-based layers 2 … 21:
 * from 1/16 of the depth to about 2/3, leaving the last third alone. Other depths keep the same
 * fractions (at least one layer).
 */
export function defaultSteerLayers(numLayers: number): number[] {
  const start = Math.ceil((2 * numLayers) / 32);
  const end = Math.max(start, Math.floor((21 * numLayers) / 32));
  return Array.from({ length: Math.min(end, numLayers - 1) - start + 1 }, (_, i) => start + i);
}

/** Resolves negative layer indices (−1 = last) and checks range. */
export function resolveLayers(layers: number[], numLayers: number): number[] {
  return layers.map((l) => {
    const r = l < 0 ? numLayers + l : l;
    if (!Number.isInteger(r) || r < 0 || r >= numLayers) throw new Error(`layer ${l} is out of range for a model with ${numLayers} layers`);
    return r;
  });
}

/** "3,4,5", "2-21", "-11..-30" or "default" → layer list. */
export function parseLayers(spec: string, numLayers: number): number[] {
  if (spec === 'default' || spec === '') return defaultSteerLayers(numLayers);
  const out: number[] = [];
  for (const part of spec.split(',')) {
    const m = /^(-?\d+)(?:(?:\.\.|:|-(?=-?\d))(-?\d+))?$/.exec(part.trim());
    if (!m) throw new Error(`cannot parse layer spec '${part}' (use e.g. 3,4,5 or 2..21 or -11..-30)`);
    const a = resolveLayers([Number(m[1])], numLayers)[0]!;
    const b = m[2] === undefined ? a : resolveLayers([Number(m[2])], numLayers)[0]!;
    for (let l = Math.min(a, b); l <= Math.max(a, b); l++) out.push(l);
  }
  return [...new Set(out)].sort((x, y) => x - y);
}
