import { CodecError } from './errors.js';

/**
 * Field widths of the ASDU header and IOA. IEC 60870-5-104 fixes them at COT 2, CA 2, IOA 3;
 * IEC 60870-5-101 profiles and some vendors use smaller ones.
 */
export interface CodecOptions {
  /** Cause of transmission: 1 octet, or 2 (with originator address). Default 2. */
  cotSize: 1 | 2;
  /** Common address of ASDU: 1 or 2 octets. Default 2. */
  caSize: 1 | 2;
  /** Information object address: 1, 2 or 3 octets. Default 3. */
  ioaSize: 1 | 2 | 3;
}

/** IEC 60870-5-104 field widths: COT 2, CA 2, IOA 3. */
export const IEC104_OPTIONS: Readonly<CodecOptions> = Object.freeze({ cotSize: 2, caSize: 2, ioaSize: 3 });

/** Fill defaults and check the widths; throws {@link CodecError} `E_OPTIONS` naming the bad field. */
export function resolveOptions(o?: Partial<CodecOptions>): CodecOptions {
  if (o === undefined) return IEC104_OPTIONS;
  const r: CodecOptions = {
    cotSize: o.cotSize ?? 2,
    caSize: o.caSize ?? 2,
    ioaSize: o.ioaSize ?? 3,
  };
  if (r.cotSize !== 1 && r.cotSize !== 2) throw new CodecError('E_OPTIONS', 0, 'cotSize', '1 or 2', String(r.cotSize));
  if (r.caSize !== 1 && r.caSize !== 2) throw new CodecError('E_OPTIONS', 0, 'caSize', '1 or 2', String(r.caSize));
  if (r.ioaSize !== 1 && r.ioaSize !== 2 && r.ioaSize !== 3) throw new CodecError('E_OPTIONS', 0, 'ioaSize', '1, 2 or 3', String(r.ioaSize));
  // the defaults as the one shared object: the decoder's property reads then see one shape
  if (r.cotSize === 2 && r.caSize === 2 && r.ioaSize === 3) return IEC104_OPTIONS;
  return r;
}

/** Length of the data unit identifier (type, VSQ, COT, CA) for these options. */
export function headerSize(o: CodecOptions): number {
  return 2 + o.cotSize + o.caSize;
}

/** The broadcast (global) common address for the CA width: 0xFF or 0xFFFF. */
export function broadcastAddress(o: CodecOptions): number {
  return o.caSize === 1 ? 0xff : 0xffff;
}
