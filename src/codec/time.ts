/**
 * Binary time tags of IEC 60870-5-4: CP56Time2a (7 octets), CP24Time2a (3) and CP16Time2a (2).
 *
 * Values keep every field as sent so that a frame re-encodes byte-identical; helpers convert
 * to and from `Date`.
 *
 * **Century rule.** CP56Time2a carries the year as 0..99 of a century it does not name. This
 * toolkit maps 00..99 to 2000..2099 (as lib60870 and most devices do). Use the `century`
 * argument of {@link cp56ToDate} for other conventions.
 */

/** CP56Time2a: milliseconds (incl. seconds) to year, with the IV and SU flags. */
export interface Cp56Time {
  /** Milliseconds within the minute, 0..59999. */
  ms: number;
  /** 0..59 */
  minute: number;
  /** 0..23 */
  hour: number;
  /** Day of month 1..31. */
  day: number;
  /** Day of week 1 (Monday)..7 (Sunday); 0 = not used. */
  dayOfWeek: number;
  /** 1..12 */
  month: number;
  /** Year within the century, 0..99. */
  year: number;
  /** IV: time tag invalid. */
  invalid: boolean;
  /** SU: summer time. */
  summerTime: boolean;
}

/** CP24Time2a: milliseconds and minutes (101-only time-tagged types). */
export interface Cp24Time {
  ms: number;
  minute: number;
  invalid: boolean;
}

/** Write a CP56Time2a at `o`. Fields are masked to their widths. */
export function writeCp56(t: Cp56Time, b: Uint8Array, o: number): void {
  b[o] = t.ms & 0xff;
  b[o + 1] = (t.ms >>> 8) & 0xff;
  b[o + 2] = (t.minute & 0x3f) | (t.invalid ? 0x80 : 0);
  b[o + 3] = (t.hour & 0x1f) | (t.summerTime ? 0x80 : 0);
  b[o + 4] = (t.day & 0x1f) | ((t.dayOfWeek & 7) << 5);
  b[o + 5] = t.month & 0x0f;
  b[o + 6] = t.year & 0x7f;
}

/** Read a CP56Time2a at `o` (7 bytes must be there). */
export function readCp56(b: Uint8Array, o: number): Cp56Time {
  const m = b[o + 2];
  const h = b[o + 3];
  const d = b[o + 4];
  return {
    ms: b[o] | (b[o + 1] << 8),
    minute: m & 0x3f,
    hour: h & 0x1f,
    day: d & 0x1f,
    dayOfWeek: d >>> 5,
    month: b[o + 5] & 0x0f,
    year: b[o + 6] & 0x7f,
    invalid: (m & 0x80) !== 0,
    summerTime: (h & 0x80) !== 0,
  };
}

const NO_PROBLEMS: Array<[string, string]> = [];

/**
 * Problems with a CP56Time2a's fields, as [field, message] pairs (empty when valid); each message
 * names its field (`year 109 > 99`). Reserved bits are checked from the raw bytes.
 */
export function checkCp56(b: Uint8Array, o: number): Array<[string, string]> {
  // fast path: every field in range and no reserved bit set (the common case allocates nothing)
  const ms0 = b[o] | (b[o + 1] << 8);
  const mi = b[o + 2], h = b[o + 3], d = b[o + 4] & 0x1f, mo = b[o + 5], y = b[o + 6];
  if (ms0 <= 59999 && (mi & 0x7f) <= 59 && (h & 0x7f) <= 23 && d !== 0 && mo >= 1 && mo <= 12 && y <= 99) return NO_PROBLEMS;
  const out: Array<[string, string]> = [];
  const ms = b[o] | (b[o + 1] << 8);
  if (ms > 59999) out.push(['milliseconds', `milliseconds ${ms} > 59999`]);
  if ((b[o + 2] & 0x3f) > 59) out.push(['minute', `minute ${b[o + 2] & 0x3f} > 59`]);
  if ((b[o + 3] & 0x1f) > 23) out.push(['hour', `hour ${b[o + 3] & 0x1f} > 23`]);
  const day = b[o + 4] & 0x1f;
  if (day === 0) out.push(['day', 'day of month 0']);
  const month = b[o + 5] & 0x0f;
  if (month === 0 || month > 12) out.push(['month', `month ${month} outside 1..12`]);
  if ((b[o + 6] & 0x7f) > 99) out.push(['year', `year ${b[o + 6] & 0x7f} > 99`]);
  if (b[o + 2] & 0x40) out.push(['reserved', 'RES1 (minute octet bit 6) set']);
  if (b[o + 3] & 0x60) out.push(['reserved', 'RES2 (hour octet bits 5-6) set']);
  if (b[o + 5] & 0xf0) out.push(['reserved', 'RES3 (month octet bits 4-7) set']);
  if (b[o + 6] & 0x80) out.push(['reserved', 'RES4 (year octet bit 7) set']);
  return out;
}

/**
 * Problems with the fields of a decoded CP56Time2a as [field, message] pairs (empty when every
 * field is in range and the date exists): milliseconds > 59999, minute > 59, hour > 23, day 0 or
 * beyond the month's last day (years 00..99 taken as 2000..2099), month outside 1..12, year > 99.
 * The IV flag is not checked (callers decide what an invalid time tag means).
 *
 * @example
 * ```ts
 * import assert from 'node:assert/strict';
 * import { cp56FieldProblems } from 'iec104';
 * const t = { ms: 65535, minute: 63, hour: 31, day: 0, dayOfWeek: 0, month: 0, year: 26, invalid: false, summerTime: false };
 * assert.deepEqual(cp56FieldProblems(t).map(([f]) => f), ['milliseconds', 'minute', 'hour', 'day', 'month']);
 * assert.deepEqual(cp56FieldProblems({ ...t, ms: 0, minute: 0, hour: 0, day: 30, month: 2 }).map(([f]) => f), ['day']);
 * ```
 */
export function cp56FieldProblems(t: Cp56Time): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  const int = (v: number): boolean => Number.isInteger(v);
  if (!int(t.ms) || t.ms < 0 || t.ms > 59999) out.push(['milliseconds', `${t.ms} outside 0..59999`]);
  if (!int(t.minute) || t.minute < 0 || t.minute > 59) out.push(['minute', `${t.minute} outside 0..59`]);
  if (!int(t.hour) || t.hour < 0 || t.hour > 23) out.push(['hour', `${t.hour} outside 0..23`]);
  const monthOk = int(t.month) && t.month >= 1 && t.month <= 12;
  const yearOk = int(t.year) && t.year >= 0 && t.year <= 99;
  const last = monthOk && yearOk ? new Date(Date.UTC(2000 + t.year, t.month, 0)).getUTCDate() : 31;
  if (!int(t.day) || t.day < 1 || t.day > last) out.push(['day', t.day === 0 ? 'day of month 0' : `day ${t.day} outside 1..${last}`]);
  if (!monthOk) out.push(['month', `month ${t.month} outside 1..12`]);
  if (!yearOk) out.push(['year', `${t.year} outside 0..99`]);
  return out;
}

/** Write a CP24Time2a at `o`. */
export function writeCp24(t: Cp24Time, b: Uint8Array, o: number): void {
  b[o] = t.ms & 0xff;
  b[o + 1] = (t.ms >>> 8) & 0xff;
  b[o + 2] = (t.minute & 0x3f) | (t.invalid ? 0x80 : 0);
}

/** Read a CP24Time2a at `o`. */
export function readCp24(b: Uint8Array, o: number): Cp24Time {
  const m = b[o + 2];
  return { ms: b[o] | (b[o + 1] << 8), minute: m & 0x3f, invalid: (m & 0x80) !== 0 };
}

/** Problems with a CP24Time2a. */
export function checkCp24(b: Uint8Array, o: number): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  const ms = b[o] | (b[o + 1] << 8);
  if (ms > 59999) out.push(['milliseconds', `milliseconds ${ms} > 59999`]);
  if ((b[o + 2] & 0x3f) > 59) out.push(['minute', `minute ${b[o + 2] & 0x3f} > 59`]);
  if (b[o + 2] & 0x40) out.push(['reserved', 'RES1 (minute octet bit 6) set']);
  return out;
}

/**
 * Convert a `Date` to CP56Time2a. `utc` (default true) takes the UTC fields; pass false for the
 * local time of this process (then `summerTime` is left false: set it yourself if your plant uses it).
 */
export function cp56FromDate(d: Date, utc = true): Cp56Time {
  const dow = utc ? d.getUTCDay() : d.getDay();
  return {
    ms: (utc ? d.getUTCSeconds() : d.getSeconds()) * 1000 + (utc ? d.getUTCMilliseconds() : d.getMilliseconds()),
    minute: utc ? d.getUTCMinutes() : d.getMinutes(),
    hour: utc ? d.getUTCHours() : d.getHours(),
    day: utc ? d.getUTCDate() : d.getDate(),
    dayOfWeek: dow === 0 ? 7 : dow,
    month: (utc ? d.getUTCMonth() : d.getMonth()) + 1,
    year: (utc ? d.getUTCFullYear() : d.getFullYear()) % 100,
    invalid: false,
    summerTime: false,
  };
}

/**
 * Convert CP56Time2a to a `Date`, reading the fields as UTC (default) or local time. The year is
 * `century + year` (default century 2000, see the module comment). Out-of-range fields roll over as
 * `Date.UTC` does; check `checkCp56` first where that matters.
 */
export function cp56ToDate(t: Cp56Time, utc = true, century = 2000): Date {
  const y = century + t.year;
  if (utc) return new Date(Date.UTC(y, t.month - 1, t.day, t.hour, t.minute, 0, t.ms));
  return new Date(y, t.month - 1, t.day, t.hour, t.minute, 0, t.ms);
}

/** ISO-like text of a CP56Time2a as sent (no time zone conversion; century rule 2000 + year), e.g. `2026-11-21 13:05:07.123 SU IV`. */
export function formatCp56(t: Cp56Time): string {
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  const s = Math.floor(t.ms / 1000);
  let out = `${2000 + t.year}-${p(t.month)}-${p(t.day)} ${p(t.hour)}:${p(t.minute)}:${p(s)}.${p(t.ms % 1000, 3)}`;
  if (t.dayOfWeek) out += ` (dow ${t.dayOfWeek})`;
  if (t.summerTime) out += ' SU';
  if (t.invalid) out += ' IV';
  return out;
}
