// A TypeScript consumer made of the README's examples: every ```ts block becomes one async function
// of a module, with the blocks' imports merged at the top. package.test.ts type-checks it strictly
// against the packed packages, so the README cannot drift from the published types.

/** The consumer module's source. */
export function consumerFromReadme(readme: string): string {
  const imports = new Map<string, Set<string>>();
  const bodies = [...readme.matchAll(/```ts\n([^]*?)```/g)].map(([, block]) =>
    block!.replace(/^import\s*\{([^}]*)\}\s*from\s*'([^']+)';\n?/gm, (_, names: string, from: string) => {
      const set = imports.get(from) ?? imports.set(from, new Set()).get(from)!;
      for (const name of names.split(',').map((n) => n.trim()).filter(Boolean)) set.add(name);
      return '';
    }));
  if (bodies.length === 0) throw new Error('README.md has no ```ts examples');
  const head = [...imports].map(([from, names]) => `import { ${[...names].join(', ')} } from '${from}';`);
  const functions = bodies.map((body, i) => `export async function example${i + 1}(): Promise<void> {\n${body.trimEnd().replace(/^/gm, '  ')}\n}`);
  return `${head.join('\n')}\n\n${functions.join('\n\n')}\n`;
}
