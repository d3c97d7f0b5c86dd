/**
 * Our decoder's view of an APDU, expressed in the field names and text formats of Wireshark's
 * IEC 104 dissector (tshark `-T fields`, `-E occurrence=a`), so the stored tshark decoding in
 * test/fixtures/tshark-vectors.json can be compared field by field. Used by
 * test/codec/vectors.test.ts and scripts/gen-tshark-vectors.ts.
 */
import { type Apdu, type FieldCodec, type InformationObject, typeInfo, headerSize, IEC104_OPTIONS } from '../../src/codec/index.js';

/** Field name → one value per occurrence, as tshark prints them. */
export type FieldView = Record<string, string[]>;

const A = 'iec60870_asdu.';
const b01 = (v: unknown) => (v ? '1' : '0');
const hex8 = (v: number) => '0x' + v.toString(16).padStart(2, '0');
const hex32 = (v: number) => '0x' + (v >>> 0).toString(16).padStart(8, '0');

/** The byte(s) element `fc` of `obj` encodes to (to compare tshark's bitmask parent fields). */
function elementByte(fc: FieldCodec, obj: InformationObject): number {
  const b = new Uint8Array(fc.size || 256);
  fc.write(obj, b, 0);
  return b[0];
}

type Q = { iv: boolean; nt: boolean; sb: boolean; bl: boolean; ov?: boolean };

/** Per element: tshark fields and our values for one object. */
function elementView(fc: FieldCodec, obj: InformationObject): Array<[string, string]> {
  const q = obj.quality as Q;
  const qf = (p: string, withOv: boolean): Array<[string, string]> => [
    ...(withOv ? [[`${p}.ov`, b01(q.ov)] as [string, string]] : []),
    [`${p}.bl`, b01(q.bl)], [`${p}.sb`, b01(q.sb)], [`${p}.nt`, b01(q.nt)], [`${p}.iv`, b01(q.iv)],
  ];
  switch (fc.ie) {
    case 'SIQ': return [['siq', hex8(elementByte(fc, obj))], ['siq.spi', b01(obj.value)], ...qf('siq', false)];
    case 'DIQ': return [['diq', hex8(elementByte(fc, obj))], ['diq.dpi', String(obj.value)], ...qf('diq', false)];
    case 'QDS': return [['qds', hex8(elementByte(fc, obj))], ...qf('qds', true)];
    case 'VTI': return [['vti', hex8(elementByte(fc, obj))], ['vti.v', String(obj.value)], ['vti.t', b01(obj.transient)]];
    case 'BSI': return [['bitstring', hex32(obj.value as number)]];
    case 'NVA': return [['normval', String(obj.value)]];
    case 'SVA': return [['scalval', String(obj.value)]];
    case 'R32': return [['float', String(obj.value)]];
    case 'BCR': return [['bcr.count', String(obj.value)], ['bcr.sq', String(obj.sequence)], ['bcr.cy', b01(obj.carry)], ['bcr.ca', b01(obj.adjusted)], ['bcr.iv', b01(obj.invalid)]];
    case 'SCO': return [['sco', hex8(elementByte(fc, obj))], ['sco.on', b01(obj.value)], ['sco.qu', String(obj.qu)], ['sco.se', b01(obj.select)]];
    case 'DCO': return [['dco', hex8(elementByte(fc, obj))], ['dco.on', String(obj.value)], ['dco.qu', String(obj.qu)], ['dco.se', b01(obj.select)]];
    case 'RCO': return [['rco', hex8(elementByte(fc, obj))], ['rco.up', String(obj.value)], ['rco.qu', String(obj.qu)], ['rco.se', b01(obj.select)]];
    case 'QOS': return [['qos', hex8(elementByte(fc, obj))], ['qos.ql', String(obj.ql)], ['qos.se', b01(obj.select)]];
    case 'QPM': return [['qpm', hex8(elementByte(fc, obj))], ['qpm.kpa', String(obj.kpa)], ['qpm.lpc', b01(obj.lpc)], ['qpm.pop', b01(obj.pop)]];
    case 'COI': return [['coi', hex8(elementByte(fc, obj))], ['coi_r', String(obj.cause)], ['coi_i', b01(obj.localChange)]];
    case 'QOI': return [['qoi', String(obj.qoi)]];
    case 'QCC': return [['qcc', hex8(elementByte(fc, obj))], ['rqt', String(obj.rqt)], ['frz', String(obj.frz)]];
    case 'QRP': return [['qrp', String(obj.qrp)]];
    case 'CP24Time2a': {
      const t = obj.time as { ms: number; minute: number; invalid: boolean };
      return [['cp24time', (t.minute * 60 + t.ms / 1000).toFixed(9)], ['cp24time.ms', String(t.ms)], ['cp24time.min', String(t.minute)], ['cp24time.iv', b01(t.invalid)]];
    }
    case 'CP56Time2a': {
      if (fc.keys[0] !== 'time') return [];
      const t = obj.time as { ms: number; minute: number; hour: number; day: number; dayOfWeek: number; month: number; year: number; invalid: boolean; summerTime: boolean };
      return [
        ['cp56time', cp56AsTshark(t)],
        ['cp56time.ms', String(t.ms)], ['cp56time.min', String(t.minute)], ['cp56time.gen', '0'], ['cp56time.iv', b01(t.invalid)],
        ['cp56time.hour', String(t.hour)], ['cp56time.su', b01(t.summerTime)], ['cp56time.day', String(t.day)], ['cp56time.dow', String(t.dayOfWeek)],
        ['cp56time.month', String(t.month)], ['cp56time.year', String(t.year)],
      ];
    }
    default: return [];
  }
}

/**
 * CP56Time2a as epoch milliseconds the way Wireshark 4.0 turns it into an absolute time: years
 * 70..99 are 1970..1999 and 00..69 are 2000..2069, and SU=1 subtracts one hour (it reads the
 * fields as local summer time and shows UTC). See the `differences` list of the fixture.
 */
export function cp56AsTshark(t: { ms: number; minute: number; hour: number; day: number; month: number; year: number; summerTime: boolean }): string {
  const y = t.year < 70 ? 2000 + t.year : 1900 + t.year;
  return String(Date.UTC(y, t.month - 1, t.day, t.hour, t.minute, 0, t.ms) - (t.summerTime ? 3600_000 : 0));
}

/** Our decoding of `apdu` (whose encoded bytes are `bytes`) in tshark's field names. */
export function ourView(apdu: Apdu, bytes: Uint8Array): FieldView {
  const v: FieldView = {};
  const add = (k: string, x: string) => (v[k] ??= []).push(x);
  add('iec60870_104.apdulen', String(bytes[1]));
  add('iec60870_asdu.start', '0x68');
  const fmt = apdu.apci.format;
  add('iec60870_104.type', hex32(fmt === 'I' ? 0 : fmt === 'S' ? 1 : 3));
  if (apdu.apci.format === 'U') {
    add('iec60870_104.utype', hex32(bytes[2] >>> 2));
    return v;
  }
  if (apdu.apci.format === 'I') add('iec60870_104.tx', String(apdu.apci.sendSeq));
  add('iec60870_104.rx', String(apdu.apci.recvSeq));
  const a = apdu.asdu;
  if (!a) return v;
  add(A + 'typeid', String(a.typeId));
  add(A + 'sq', b01(a.sq));
  add(A + 'numix', String(a.raw ? a.rawCount : a.objects.length));
  add(A + 'causetx', String(a.cot));
  add(A + 'nega', b01(a.negative));
  add(A + 'test', b01(a.test));
  add(A + 'oa', String(a.originator));
  add(A + 'addr', String(a.ca));
  const info = typeInfo(a.typeId);
  const hs = 6 + headerSize(IEC104_OPTIONS);
  if (a.raw) {
    // tshark shows the first IOA and the remaining octets as raw data
    if (a.raw.length >= 3) add(A + 'ioa', String(a.raw[0] | (a.raw[1] << 8) | (a.raw[2] << 16)));
    if (a.raw.length > 3) add(A + 'rawdata', Buffer.from(a.raw.subarray(3)).toString('hex'));
    return v;
  }
  for (const obj of a.objects) {
    add(A + 'ioa', String(obj.ioa));
    for (const fc of info!.fields) for (const [k, x] of elementView(fc, obj)) add(A + k, x);
  }
  // for types tshark does not dissect it shows only the first IOA and the rest as raw data
  v[A + 'rawdata'] = bytes.length > hs + 3 ? [Buffer.from(bytes.subarray(hs + 3)).toString('hex')] : [];
  return v;
}

/** Whether tshark's text `t` and ours `o` agree for `field` (numeric tolerance for floats, times). */
export function sameValue(field: string, t: string, o: string): boolean {
  if (field.endsWith('.float') || field.endsWith('.normval')) {
    const x = Number(t === 'nan' ? NaN : t === 'inf' ? Infinity : t === '-inf' ? -Infinity : t);
    const y = Number(o);
    if (Number.isNaN(x) || Number.isNaN(y)) return Number.isNaN(x) && Number.isNaN(y);
    if (!Number.isFinite(x) || !Number.isFinite(y)) return x === y;
    return Math.abs(x - y) <= 1e-5 * Math.max(1, Math.abs(y)) || Math.abs(x - y) <= Math.abs(y) * 1e-6;
  }
  if (field.endsWith('.cp24time')) return Math.abs(Number(t) - Number(o)) < 1e-6;
  if (field.endsWith('.cp56time')) {
    // "Dec 31, 1999 23:59:59.999000000 UTC" -> epoch ms
    const m = /^(\w{3}) +(\d+), (\d+) (\d\d):(\d\d):(\d\d)\.(\d{3})\d* UTC$/.exec(t);
    if (!m) return false;
    const mon = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'].indexOf(m[1]);
    return Date.UTC(+m[3], mon, +m[2], +m[4], +m[5], +m[6], +m[7]) === Number(o);
  }
  return t === o;
}

/** How a documented disagreement maps our value to what tshark shows. */
export const DIFFERENCE_TRANSFORMS: Record<string, (ours: string) => string> = {
  /** tshark 4.0 reads the BSI octets most significant first; the standard sends them least significant first. */
  /** Our value is already rendered in tshark's convention (see cp56AsTshark). */
  asShown: (o) => o,
  byteswap32: (o) => {
    const n = Number(o);
    const s = (((n & 0xff) << 24) | ((n & 0xff00) << 8) | ((n >>> 8) & 0xff00) | (n >>> 24)) >>> 0;
    return '0x' + s.toString(16).padStart(8, '0');
  },
};

/** A field whose tshark value is documented to differ from ours by `transform`. */
export interface KnownDifference {
  field: string;
  transform: keyof typeof DIFFERENCE_TRANSFORMS;
  comment: string;
}

/** One disagreement between tshark's field values and ours. */
export interface Mismatch {
  field: string;
  index: number;
  tshark: string | undefined;
  ours: string | undefined;
}

/**
 * Compare every field tshark emitted with our view. Where tshark did not dissect the objects
 * (it emitted `rawdata`), only the first IOA is compared. Returns the disagreements and how many
 * values were compared.
 */
export function compareViews(tshark: FieldView, ours: FieldView, known: readonly KnownDifference[] = []): { mismatches: Mismatch[]; compared: number } {
  const mismatches: Mismatch[] = [];
  let compared = 0;
  const rawMode = tshark[A + 'rawdata'] !== undefined;
  for (const [field, tvals] of Object.entries(tshark)) {
    let ovals = ours[field] ?? [];
    if (rawMode && field === A + 'ioa') ovals = ovals.slice(0, 1);
    const kd = known.find((k) => k.field === field);
    const n = Math.max(tvals.length, ovals.length);
    for (let i = 0; i < n; i++) {
      const t = tvals[i];
      let o = ovals[i];
      if (o !== undefined && kd) o = DIFFERENCE_TRANSFORMS[kd.transform](o);
      compared++;
      if (t === undefined || o === undefined || !sameValue(field, t, o)) mismatches.push({ field, index: i, tshark: t, ours: ovals[i] });
    }
  }
  return { mismatches, compared };
}
