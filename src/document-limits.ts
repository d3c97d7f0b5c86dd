/**
 * Limits on configuration documents (station configs, policies and baselines, scenarios) before
 * they reach a JSON or YAML parser: size, nesting depth and YAML alias count. A hostile file must
 * give a clear error, not a stack overflow deep in a parser, minutes of CPU or gigabytes of heap.
 *
 * The check is one iterative pass over the text (no recursion, nothing allocated per character):
 * - size in UTF-8 octets;
 * - nesting depth: flow collections (`[`, `{` outside quoted scalars and comments) plus the stack of
 *   block indentation levels (and compact `- - -` sequence entries), i.e. what a parser would recurse on;
 * - aliases (`*name` where a value starts), which the `yaml` package resolves slowly in bulk.
 */

/** Limits of {@link checkDocument}. */
export interface DocumentLimits {
  /** Largest document in octets. */
  maxBytes: number;
  /** Deepest nesting of collections. */
  maxDepth: number;
  /** Most YAML aliases (`*name`). */
  maxAliases: number;
}

/** Defaults: 256 MiB (a million points fit), depth 64, 10000 aliases. */
export const DEFAULT_DOCUMENT_LIMITS: Readonly<DocumentLimits> = Object.freeze({ maxBytes: 256 * 1024 * 1024, maxDepth: 64, maxAliases: 10_000 });

/** Which limit a document broke. */
export type DocumentLimitCode = 'E_DOC_SIZE' | 'E_DOC_DEPTH' | 'E_DOC_ALIASES';

/** A document broke a {@link DocumentLimits} limit; `line`/`column` (1-based) say where, when it applies. */
export class DocumentLimitError extends Error {
  override readonly name = 'DocumentLimitError';
  constructor(
    readonly code: DocumentLimitCode,
    /** What the document is, e.g. `policy p.yaml`. */
    readonly document: string,
    readonly limit: number,
    readonly found: number,
    readonly line?: number,
    readonly column?: number,
  ) {
    const where = line !== undefined ? ` at line ${line}, column ${column}` : '';
    const what =
      code === 'E_DOC_SIZE'
        ? `is ${found} octets, more than the limit of ${limit}`
        : code === 'E_DOC_DEPTH'
          ? `nests collections deeper than the limit of ${limit}${where}`
          : `has more than ${limit} YAML aliases (*name)${where}`;
    super(`${document} ${what} (${code})`);
  }
}

const SPACE = 0x20;
const TAB = 0x09;
const LF = 0x0a;
const CR = 0x0d;

/** Whether `c` ends a token (so that the next character may start a value). */
function separates(c: number): boolean {
  return c === SPACE || c === TAB || c === LF || c === CR || c === 0x5b /* [ */ || c === 0x7b /* { */ || c === 0x2c /* , */ || c === 0x3a /* : */ || c === 0x2d /* - */ || c === 0x3f /* ? */;
}

/**
 * Check a JSON or YAML text against the limits before parsing it. Throws
 * {@link DocumentLimitError} naming the limit, what was found and where.
 */
export function checkDocument(text: string, document: string, limits: Partial<DocumentLimits> = {}): void {
  const maxBytes = limits.maxBytes ?? DEFAULT_DOCUMENT_LIMITS.maxBytes;
  const maxDepth = limits.maxDepth ?? DEFAULT_DOCUMENT_LIMITS.maxDepth;
  const maxAliases = limits.maxAliases ?? DEFAULT_DOCUMENT_LIMITS.maxAliases;
  if (text.length > maxBytes || (text.length * 3 > maxBytes && Buffer.byteLength(text, 'utf8') > maxBytes)) {
    throw new DocumentLimitError('E_DOC_SIZE', document, maxBytes, Buffer.byteLength(text, 'utf8'));
  }
  const n = text.length;
  let line = 1;
  let lineStart = 0;
  let flow = 0;
  let aliases = 0;
  /** Indentation of the open block levels (a stack kept in a typed array: depth is bounded). */
  const indents = new Int32Array(maxDepth + 2);
  let block = 0;
  /** Inside a block scalar (| or >): lines indented more than this are text. */
  let scalarIndent = -1;
  let quote = 0; // 0, '"' or "'"
  let i = 0;
  const fail = (code: DocumentLimitCode, limit: number, found: number, at: number): never => {
    throw new DocumentLimitError(code, document, limit, found, line, at - lineStart + 1);
  };
  let atLineStart = true;
  while (i < n) {
    let c = text.charCodeAt(i);
    if (quote !== 0) {
      if (c === LF) {
        line++;
        lineStart = i + 1;
      } else if (quote === 0x22 && c === 0x5c /* \ */) i++;
      else if (c === quote) {
        if (quote === 0x27 && text.charCodeAt(i + 1) === 0x27) i++;
        else quote = 0;
      }
      i++;
      continue;
    }
    if (atLineStart) {
      atLineStart = false;
      // indentation and block structure (only outside flow collections)
      let j = i;
      while (j < n && text.charCodeAt(j) === SPACE) j++;
      const indent = j - i;
      const first = j < n ? text.charCodeAt(j) : LF;
      const blank = first === LF || first === CR || first === 0x23; /* # */
      if (!blank && flow === 0) {
        if (scalarIndent >= 0 && indent > scalarIndent) {
          // text of a block scalar: skip the line
          while (j < n && text.charCodeAt(j) !== LF) j++;
          i = j;
          continue;
        }
        scalarIndent = -1;
        while (block > 0 && indents[block - 1] >= indent) block--;
        let level = indent;
        let k = j;
        // compact sequences: "- - - x" nests one level per dash
        for (;;) {
          if (block >= maxDepth) fail('E_DOC_DEPTH', maxDepth, block + 1, k);
          indents[block++] = level;
          if (text.charCodeAt(k) === 0x2d /* - */ && (text.charCodeAt(k + 1) === SPACE || text.charCodeAt(k + 1) === LF)) {
            k += 2;
            while (k < n && text.charCodeAt(k) === SPACE) k++;
            level = k - lineStart;
            if (text.charCodeAt(k) === 0x2d && (text.charCodeAt(k + 1) === SPACE || text.charCodeAt(k + 1) === LF)) continue;
          }
          break;
        }
        if (block + flow > maxDepth) fail('E_DOC_DEPTH', maxDepth, block + flow, j);
      }
      i = j;
      continue;
    }
    if (c === LF) {
      line++;
      lineStart = i + 1;
      atLineStart = true;
      i++;
      continue;
    }
    const prev = i > lineStart ? text.charCodeAt(i - 1) : LF;
    const start = separates(prev);
    if (c === 0x23 /* # */ && (prev === SPACE || prev === TAB || prev === LF)) {
      while (i < n && text.charCodeAt(i) !== LF) i++;
      continue;
    }
    if ((c === 0x22 || c === 0x27) && (start || flow > 0)) quote = c;
    else if (c === 0x5b || c === 0x7b) {
      if (start || flow > 0) {
        flow++;
        if (block + flow > maxDepth) fail('E_DOC_DEPTH', maxDepth, block + flow, i);
      }
    } else if (c === 0x5d || c === 0x7d) {
      if (flow > 0) flow--;
    } else if (c === 0x2a /* * */ && start) {
      if (++aliases > maxAliases) fail('E_DOC_ALIASES', maxAliases, aliases, i);
    } else if ((c === 0x7c /* | */ || c === 0x3e /* > */) && start && flow === 0) {
      // a block scalar header: the following more-indented lines are its text
      let k = i + 1;
      while (k < n && ((c = text.charCodeAt(k)) === 0x2b || c === 0x2d || (c >= 0x30 && c <= 0x39))) k++;
      while (k < n && text.charCodeAt(k) === SPACE) k++;
      c = k < n ? text.charCodeAt(k) : LF;
      if (c === LF || c === CR || c === 0x23) scalarIndent = block > 0 ? indents[block - 1] : 0;
    }
    i++;
  }
}
