// Files by name, wherever they are: a folder URL (fetched), Files or ArrayBuffers in memory, or a
// folder on disk (Node). The byte-based loaders (models, tokenizers, steering vectors, adapters)
// read through a FileSource, so one code path serves Node, a web page and a drop zone.
import { HOST, existsSync, join, readFileSync, statSync } from '#host';

export interface FileSource {
  /** The folder path or URL, for messages ('' for files in memory). */
  readonly name: string;
  /** The file's bytes, or null when there is no such file. Other failures throw, naming the file. */
  read(file: string): Promise<Uint8Array | null>;
}

/** In-memory files by name: File objects (a drop zone, an <input type=file>), Blobs, ArrayBuffers or byte arrays. */
export type FileMap = Record<string, Blob | ArrayBuffer | ArrayBufferView> | readonly File[];

/**
 * Anything a loader accepts: a FileSource; in-memory files; a URL (a string that parses as an
 * absolute URL, or any string in a browser, resolved against the page); else, in Node, a folder path.
 */
export type Files = FileSource | FileMap | URL | string;

export class FileLoadError extends Error {
  override name = 'FileLoadError';
}

const bytesOf = (b: ArrayBuffer | ArrayBufferView): Uint8Array =>
  b instanceof ArrayBuffer ? new Uint8Array(b) : new Uint8Array(b.buffer, b.byteOffset, b.byteLength);

function isFileSource(x: Files): x is FileSource {
  return typeof x === 'object' && !(x instanceof URL) && typeof (x as Partial<FileSource>).read === 'function';
}

/** Files fetched relative to a folder URL (a trailing '/' is added). 404 means "no such file". */
export function urlFiles(base: string | URL): FileSource {
  const href = String(base);
  const folder = new URL(href.endsWith('/') ? href : `${href}/`, pageUrl());
  return {
    name: folder.href,
    read: (file) => fetchBytes(new URL(file, folder)),
  };
}

/** The body of a URL, or null on 404; any other failure throws, naming the URL. */
async function fetchBytes(url: URL): Promise<Uint8Array | null> {
  let res: Response;
  try {
    res = await fetch(url);
  } catch (e) {
    throw new FileLoadError(`${url.href}: cannot fetch (${(e as Error).message})`);
  }
  if (res.status === 404) return null;
  if (!res.ok) throw new FileLoadError(`${url.href}: HTTP ${res.status} ${res.statusText}`);
  return new Uint8Array(await res.arrayBuffer());
}

/** In-memory files (by name; a File's own name when given a list). */
export function memoryFiles(files: FileMap, name = ''): FileSource {
  const byName = new Map<string, Blob | ArrayBuffer | ArrayBufferView>(
    Array.isArray(files) ? (files as readonly File[]).map((f) => [f.name, f]) : Object.entries(files),
  );
  return {
    name,
    async read(file) {
      const f = byName.get(file);
      if (f === undefined) return null;
      return f instanceof Blob ? new Uint8Array(await f.arrayBuffer()) : bytesOf(f);
    },
  };
}

/** A folder on disk (Node). */
export function dirFiles(dir: string): FileSource {
  return {
    name: dir,
    async read(file) {
      const path = join(dir, file);
      if (!existsSync(path) || !statSync(path).isFile()) return null;
      return new Uint8Array(readFileSync(path));
    },
  };
}

/** The page's URL in a browser (relative URLs resolve against it); undefined in Node. */
function pageUrl(): string | undefined {
  return (globalThis as { location?: { href: string } }).location?.href;
}

function isAbsoluteUrl(s: string): boolean {
  try {
    new URL(s);
    return true;
  } catch {
    return false;
  }
}

/** The FileSource for anything a loader accepts (see `Files`). */
export function fileSource(files: Files): FileSource {
  if (files instanceof URL) return urlFiles(files);
  if (typeof files === 'string') return HOST === 'browser' || isAbsoluteUrl(files) ? urlFiles(files) : dirFiles(files);
  if (isFileSource(files)) return files;
  return memoryFiles(files);
}

/** One file: a URL (as for `Files`), a path (Node), or its contents (a File or other Blob, bytes). */
export type FileRef = string | URL | Blob | ArrayBuffer | ArrayBufferView;

/** A file's bytes and a name for messages (the URL, the path, or a File's name). */
export async function readFileRef(ref: FileRef): Promise<{ bytes: Uint8Array; name: string }> {
  if (ref instanceof Blob) return { bytes: new Uint8Array(await ref.arrayBuffer()), name: (ref as Partial<File>).name ?? '<blob>' };
  if (ref instanceof ArrayBuffer || ArrayBuffer.isView(ref)) return { bytes: bytesOf(ref), name: '<memory>' };
  const href = String(ref);
  if (ref instanceof URL || HOST === 'browser' || isAbsoluteUrl(href)) {
    const url = new URL(href, pageUrl());
    const bytes = await fetchBytes(url);
    if (bytes === null) throw new FileLoadError(`${url.href}: not found (HTTP 404)`);
    return { bytes, name: url.href };
  }
  return { bytes: new Uint8Array(readFileSync(href)), name: href };
}

/** `file` inside a source, for messages: `models/default/config.json`, `https://…/config.json`. */
export function pathIn(src: FileSource, file: string): string {
  if (src.name === '') return file;
  return src.name.endsWith('/') ? `${src.name}${file}` : `${src.name}/${file}`;
}

/** A file's bytes; a missing file is an error naming it and where it was looked for. */
export async function readRequired(src: FileSource, file: string, what = 'file'): Promise<Uint8Array> {
  const bytes = await src.read(file);
  if (bytes === null) throw new FileLoadError(`${pathIn(src, file)}: not found (${what})`);
  return bytes;
}

/** A file parsed as JSON, or null when it does not exist. */
export async function readJson(src: FileSource, file: string): Promise<unknown> {
  const bytes = await src.read(file);
  if (bytes === null) return null;
  try {
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch (e) {
    throw new FileLoadError(`${pathIn(src, file)}: not valid JSON (${(e as Error).message})`);
  }
}
