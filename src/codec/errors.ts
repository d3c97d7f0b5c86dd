/**
 * Typed errors and warnings of the codec.
 *
 * Decoding never throws: it returns a {@link DecodeResult}. A {@link CodecError} names what was
 * wrong and where (byte offset within the input, the field, what was expected and what was found).
 * Semantic problems that still leave a decodable frame become {@link CodecWarning}s attached to
 * the decoded value. Encoding throws {@link CodecError} for values that cannot be represented.
 */

/** Stable codes of codec errors. */
export type CodecErrorCode =
  | 'E_TRUNCATED' // input ends before a field that must be there
  | 'E_START_BYTE' // first byte of an APDU is not 0x68
  | 'E_APDU_LENGTH' // APDU length octet outside 4..253 or not matching the input
  | 'E_CONTROL_FIELD' // reserved control-field bits set, or an invalid U function
  | 'E_ASDU_LENGTH' // information objects do not fill the ASDU exactly
  | 'E_VSQ_COUNT' // number of objects impossible for the type
  | 'E_IOA_OVERFLOW' // SQ=1 sequence runs past the largest IOA
  | 'E_OPTIONS' // invalid codec options (field widths)
  | 'E_VALUE_RANGE' // (encode) a value outside what its field can carry
  | 'E_ENCODE_TYPE' // (encode) a type or object shape that cannot be encoded
  | 'E_BUFFER_LIMIT'; // a streaming buffer limit was reached

/** Stable codes of warnings: the frame decoded, but something about it is not as the standard says. */
export type CodecWarningCode =
  | 'W_COT_NOT_ALLOWED' // cause of transmission not allowed for this type
  | 'W_COT_UNKNOWN' // cause value undefined or reserved
  | 'W_SQ_NOT_ALLOWED' // SQ=1 used with a type that is sent with SQ=0 only
  | 'W_EMPTY_ASDU' // zero information objects
  | 'W_RESERVED_BITS' // reserved bits of an information element are set
  | 'W_RESERVED_VALUE' // a qualifier or state uses a reserved / not permitted value
  | 'W_TIME_FIELD' // a CP56/CP24/CP16 field out of range (minute 61, month 13, ...)
  | 'W_FLOAT_NOT_FINITE' // NaN or infinity in a short floating point value
  | 'W_TYPE_RESERVED' // reserved or private type identification (decoded raw)
  | 'W_BROADCAST' // the broadcast common address used where the standard does not allow it
  | 'W_IOA_ZERO' // IOA 0 used for a type that addresses a real object
  | 'W_IEC101_ONLY_TYPE'; // a type defined for IEC 60870-5-101 only (CP24Time2a time tags, C_TS_NA_1, C_CD_NA_1)

/** A decode or encode failure: what was wrong and where. */
export class CodecError extends Error {
  override readonly name = 'CodecError';
  constructor(
    /** Stable machine-readable code. */
    readonly code: CodecErrorCode,
    /** Byte offset in the decoded input where the problem is (0 for encode errors). */
    readonly offset: number,
    /** The field concerned, e.g. `APCI length`, `VSQ`, `object[3].IOA`. */
    readonly field: string,
    /** What the field should have been. */
    readonly expected: string,
    /** What was found. */
    readonly found: string,
  ) {
    super(`${code} at byte ${offset} (${field}): expected ${expected}, found ${found}`);
  }

  /** Plain JSON form for logs and `--json` output. */
  toJSON(): { code: CodecErrorCode; offset: number; field: string; expected: string; found: string; message: string } {
    return { code: this.code, offset: this.offset, field: this.field, expected: this.expected, found: this.found, message: this.message };
  }
}

/** A semantic problem in a frame that still decoded. */
export interface CodecWarning {
  code: CodecWarningCode;
  /** Byte offset in the decoded input. */
  offset: number;
  field: string;
  message: string;
}

/** Result of a decode: a value, or a typed error. Decoders never throw. */
export type DecodeResult<T> = { ok: true; value: T } | { ok: false; error: CodecError };

/** @internal */
export function fail<T>(code: CodecErrorCode, offset: number, field: string, expected: string, found: string): DecodeResult<T> {
  return { ok: false, error: cerr(code, offset, field, expected, found) };
}

/** @internal A {@link CodecError} (for internal paths that return errors instead of result wrappers). */
export function cerr(code: CodecErrorCode, offset: number, field: string, expected: string, found: string): CodecError {
  // Decode errors are returned, never thrown, so a stack trace carries no information; capturing
  // one made the error path ~10x slower than a successful decode (hostile traffic is mostly errors).
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return new CodecError(code, offset, field, expected, found);
  } finally {
    Error.stackTraceLimit = limit;
  }
}

/** @internal hex of a byte for messages */
export function hex2(n: number): string {
  return '0x' + n.toString(16).padStart(2, '0').toUpperCase();
}
