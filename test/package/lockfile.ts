// A package-lock.json for the fresh consumer project of package.test.ts, cut from the repository's
// own: the packed kts tarballs, and every package they (and the consumer's tools) need, at the
// versions and with the integrity hashes the repository's `npm ci` installed, so `npm ci --offline`
// finds each one in npm's cache. (A plain `npm install <tarballs> --offline` cannot work: it would
// need registry metadata to resolve version ranges, and `npm ci` caches only tarballs.)

interface Entry {
  version?: string;
  resolved?: string;
  integrity?: string;
  link?: boolean;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  [field: string]: unknown;
}
interface Lock {
  packages: Record<string, Entry>;
}

/** A packed workspace: its name, its folder in the repository, its tarball's file name and integrity. */
export interface Packed {
  name: string;
  folder: string;
  filename: string;
  integrity: string;
}

/** Where Node would find `name` from the package at lock path `from` (its node_modules, then up). */
function locate(lock: Lock, from: string, name: string): string {
  for (let base = from; ; ) {
    const path = `${base ? `${base}/` : ''}node_modules/${name}`;
    if (lock.packages[path]) return path;
    if (base === '') throw new Error(`package-lock.json: ${name} (needed by ${from || 'the root'}) is not installed`);
    const up = base.lastIndexOf('/node_modules/');
    base = up >= 0 ? base.slice(0, up) : '';
  }
}

export function consumerLock(repoLock: Lock, packed: Packed[], tools: string[]): { packageJson: object; lock: object } {
  const byName = new Map(packed.map((p) => [p.name, p]));
  const out: Record<string, Entry> = {};
  // [path in the repository's lock, path in the consumer's lock]
  const todo: [string, string][] = [];
  const dependencies: Record<string, string> = {};

  for (const p of packed) {
    const { dev: _dev, ...entry } = repoLock.packages[p.folder]!;
    out[`node_modules/${p.name}`] = { ...entry, resolved: `file:${p.filename}`, integrity: p.integrity };
    dependencies[p.name] = `file:${p.filename}`;
    todo.push([p.folder, `node_modules/${p.name}`]);
  }
  for (const t of tools) {
    const path = `node_modules/${t}`;
    dependencies[t] = repoLock.packages[path]!.version!;
    todo.push(['', '']);
    visit(path, path);
  }

  function visit(repoPath: string, consumerPath: string): void {
    if (out[consumerPath]) return;
    const { dev: _dev, devOptional: _devOptional, peer: _peer, ...entry } = repoLock.packages[repoPath]!;
    out[consumerPath] = entry;
    todo.push([repoPath, consumerPath]);
  }

  while (todo.length) {
    const [repoPath, consumerPath] = todo.pop()!;
    if (repoPath === '' && consumerPath === '') continue;
    const entry = repoLock.packages[repoPath]!;
    for (const name of Object.keys({ ...entry.dependencies, ...entry.optionalDependencies, ...entry.peerDependencies })) {
      if (byName.has(name)) continue; // another packed tarball
      let found: string;
      try {
        found = locate(repoLock, repoPath, name);
      } catch (e) {
        if (entry.optionalDependencies?.[name] !== undefined || entry.peerDependencies?.[name] !== undefined) continue;
        throw e;
      }
      // Nested under the package in the repository: nested under it here too; else hoisted.
      const nested = found.startsWith(`${repoPath}/node_modules/`);
      visit(found, nested ? `${consumerPath}${found.slice(repoPath.length)}` : found);
    }
  }
  const packageJson = { name: 'consumer', version: '0.0.0', private: true, type: 'module', dependencies };
  return {
    packageJson,
    lock: { name: 'consumer', version: '0.0.0', lockfileVersion: 3, requires: true, packages: { '': { name: 'consumer', version: '0.0.0', dependencies }, ...out } },
  };
}
