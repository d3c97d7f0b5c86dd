/**
 * Parsing of hex text as people paste it: `68 04 07 00 00 00`, `68:04:07:00:00:00`,
 * `0x68, 0x04, 0x07`, `[0x68,0x04]`, `\x68\x04`, `68-04-07`, `680407000000`, upper or lower case,
 * with `#` comments. Pure functions, no I/O.
 */

/** The octets of one non-empty input line. */
export interface HexLine {
  /** 1-based line number in the input text. */
  line: number;
  bytes: Uint8Array;
}

/** Text that is not hex. The whole line it is on is left out of the result. */
export interface HexProblem {
  /** 1-based line number. */
  line: number;
  /** 1-based column of the offending token. */
  column: number;
  /** The offending token. */
  token: string;
  message: string;
}

/** Result of {@link parseHexLines}. */
export interface HexInput {
  /** Lines that held octets, in input order (blank and comment-only lines are skipped). */
  lines: HexLine[];
  problems: HexProblem[];
}

const HEX = /^[0-9a-fA-F]+$/;

/**
 * Parse one line of hex. Separators are whitespace, commas, colons, semicolons, dashes, brackets
 * and quotes; a token may carry a `0x` prefix; a token of several digit pairs (`680E`) is read as
 * those octets in order; a single digit (`7`, `0x7`) is one octet. Returns the octets or a
 * problem (an odd number of digits in a multi-digit token, or a non-hex character).
 */
export function parseHexLine(text: string, line = 1): { bytes: Uint8Array } | { problem: HexProblem } {
  let s = text;
  const hash = s.indexOf('#');
  if (hash >= 0) s = s.slice(0, hash);
  // `\x68` escapes: the backslash-x acts as a separator.
  s = s.replace(/\\x/gi, ' ');
  const out: number[] = [];
  const re = /[^\s,;:\-[\]{}()"'`]+/g;
  for (let m = re.exec(s); m !== null; m = re.exec(s)) {
    const token = m[0];
    const column = m.index + 1;
    const digits = /^0x/i.test(token) ? token.slice(2) : token;
    if (digits.length === 0 || !HEX.test(digits)) {
      return { problem: { line, column, token, message: `'${token}' is not hex` } };
    }
    if (digits.length === 1) {
      out.push(parseInt(digits, 16));
      continue;
    }
    if (digits.length % 2 !== 0) {
      return { problem: { line, column, token, message: `'${token}' has an odd number of hex digits` } };
    }
    for (let i = 0; i < digits.length; i += 2) out.push(parseInt(digits.slice(i, i + 2), 16));
  }
  return { bytes: Uint8Array.from(out) };
}

/**
 * Parse multi-line hex text: one {@link HexLine} per line that holds octets. A line with a
 * problem is reported in `problems` and left out of `lines`; the other lines are still parsed.
 *
 * For instance `'68 04 07 00 00 00\n0x68,0x04,0x0B,0,0,0  # STARTDT con\n'` gives two lines,
 * `[68 04 07 00 00 00]` (line 1) and `[68 04 0B 00 00 00]` (line 2).
 */
export function parseHexLines(text: string): HexInput {
  const lines: HexLine[] = [];
  const problems: HexProblem[] = [];
  const all = text.split(/\r?\n|\r/);
  for (let i = 0; i < all.length; i++) {
    const r = parseHexLine(all[i], i + 1);
    if ('problem' in r) problems.push(r.problem);
    else if (r.bytes.length > 0) lines.push({ line: i + 1, bytes: r.bytes });
  }
  return { lines, problems };
}

/** Parse hex text into one array of octets (all lines concatenated); throws an `Error` naming the first problem. */
export function parseHex(text: string): Uint8Array {
  const r = parseHexLines(text);
  if (r.problems.length > 0) {
    const p = r.problems[0];
    throw new Error(`line ${p.line}, column ${p.column}: ${p.message}`);
  }
  const total = r.lines.reduce((n, l) => n + l.bytes.length, 0);
  const out = new Uint8Array(total);
  let o = 0;
  for (const l of r.lines) {
    out.set(l.bytes, o);
    o += l.bytes.length;
  }
  return out;
}
