/**
 * Hand-written SVG of a {@link MeasureResult}: a latency histogram (top) and latency over time
 * (bottom), with axes, ticks, units, a legend and the summary statistics. No dependencies.
 */
import { actTermSummary, commandCount, type MeasureResult, type MeasureSample } from './measure.js';
import { xmlEscape } from './report.js';

/** Round, readable tick values covering [min, max] (the first tick <= min, the last >= max). */
export function niceTicks(min: number, max: number, count = 5): number[] {
  if (!(max > min)) max = min + 1;
  const raw = (max - min) / Math.max(1, count);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const norm = raw / mag;
  const step = (norm <= 1 ? 1 : norm <= 2 ? 2 : norm <= 2.5 ? 2.5 : norm <= 5 ? 5 : 10) * mag;
  const out: number[] = [];
  const first = Math.floor(min / step + 1e-9);
  const last = Math.ceil(max / step - 1e-9);
  for (let i = first; i <= last; i++) out.push(Math.round(i * step * 1e9) / 1e9);
  return out;
}

function fmt(v: number): string {
  if (v === 0) return '0';
  if (Math.abs(v) >= 1000) return `${Math.round(v)}`;
  if (Math.abs(v) >= 10) return `${Math.round(v * 10) / 10}`;
  return `${Math.round(v * 100) / 100}`;
}

interface Series {
  key: 'actCon' | 'actTerm' | 'feedback';
  label: string;
  color: string;
}

const SERIES: Series[] = [
  { key: 'actCon', label: 'ACT_CON', color: '#1f77b4' },
  { key: 'actTerm', label: 'ACT_TERM', color: '#ff7f0e' },
  { key: 'feedback', label: 'feedback', color: '#2ca02c' },
];

const values = (samples: MeasureSample[], k: Series['key']): number[] => samples.flatMap((s) => (s[k] === undefined ? [] : [s[k] as number]));

/** Render the measurement as a standalone SVG document. */
export function measureSvg(r: MeasureResult, opts: { width?: number; height?: number; bins?: number } = {}): string {
  const W = opts.width ?? 1000;
  const H = opts.height ?? 760;
  const font = 'font-family="Helvetica, Arial, sans-serif"';
  const present = SERIES.filter((s) => values(r.samples, s.key).length > 0);
  const all = present.flatMap((s) => values(r.samples, s.key));
  const maxLat = all.length ? maxOf(all, -Infinity) : 1;
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" ${font} font-size="13">`);
  out.push(`<rect width="${W}" height="${H}" fill="#ffffff"/>`);
  out.push(`<text x="${W / 2}" y="28" text-anchor="middle" font-size="18" font-weight="bold">${xmlEscape(`Command latency: ${r.typeName} to CA ${r.ca} IOA ${r.ioa} at ${r.target}`)}</text>`);
  const o = r.outcomes;
  const term = actTermSummary(r);
  const sub = `${commandCount(r)} in ${(r.durationMs / 1000).toFixed(1)} s: ${o.positive} positive, ${o.negative} negative, ${o.timeout} timeout${o.closed ? `, ${o.closed} lost` : ''}${term ? `; ${term}` : ''}${r.feedbackTimeouts ? `; feedback missing ${r.feedbackTimeouts}` : ''}`;
  out.push(`<text x="${W / 2}" y="50" text-anchor="middle" fill="#444">${xmlEscape(sub)}</text>`);

  const left = 80;
  const right = W - 230;
  const pw = right - left;

  // ---------------- histogram
  const hTop = 80;
  const hBottom = 340;
  const ph = hBottom - hTop;
  const nb = opts.bins ?? 40;
  const xTicks = niceTicks(0, maxLat * 1.02, 8);
  const xMax = xTicks[xTicks.length - 1] || 1;
  const bw = xMax / nb;
  const counts = present.map((s) => {
    const c = new Array<number>(nb).fill(0);
    for (const v of values(r.samples, s.key)) c[Math.min(nb - 1, Math.floor(v / bw))]++;
    return c;
  });
  const cMax = maxOf(counts.flat(), 1);
  const yTicks = niceTicks(0, cMax, 5);
  const yMax = yTicks[yTicks.length - 1] || 1;
  const X = (v: number): number => left + (v / xMax) * pw;
  const YH = (c: number): number => hBottom - (c / yMax) * ph;
  out.push(`<text x="${left}" y="${hTop - 8}" font-size="15" font-weight="bold">Latency distribution</text>`);
  for (const t of yTicks) out.push(`<line x1="${left}" x2="${right}" y1="${YH(t)}" y2="${YH(t)}" stroke="#e5e5e5"/><text x="${left - 8}" y="${YH(t) + 4}" text-anchor="end">${fmt(t)}</text>`);
  for (const t of xTicks) out.push(`<line x1="${X(t)}" x2="${X(t)}" y1="${hBottom}" y2="${hBottom + 5}" stroke="#333"/><text x="${X(t)}" y="${hBottom + 20}" text-anchor="middle">${fmt(t)}</text>`);
  // the series of a bin stand side by side (ACT_TERM and feedback often share a bin: drawn on top
  // of each other, the later one hid the earlier)
  present.forEach((s, si) => {
    const c = counts[si];
    for (let b = 0; b < nb; b++) {
      if (c[b] === 0) continue;
      const slot = (X((b + 1) * bw) - X(b * bw)) / present.length;
      const x = X(b * bw) + si * slot;
      const w = Math.max(0.5, slot - (present.length > 1 ? 0.5 : 1));
      out.push(`<rect x="${x.toFixed(1)}" y="${YH(c[b]).toFixed(1)}" width="${w.toFixed(1)}" height="${(hBottom - YH(c[b])).toFixed(1)}" fill="${s.color}" fill-opacity="0.45" stroke="${s.color}" stroke-width="1" data-series="${s.key}"/>`);
    }
  });
  out.push(`<line x1="${left}" x2="${right}" y1="${hBottom}" y2="${hBottom}" stroke="#333"/><line x1="${left}" x2="${left}" y1="${hTop}" y2="${hBottom}" stroke="#333"/>`);
  out.push(`<text x="${(left + right) / 2}" y="${hBottom + 40}" text-anchor="middle">latency (ms) from sending the command</text>`);
  out.push(`<text transform="translate(${left - 50} ${(hTop + hBottom) / 2}) rotate(-90)" text-anchor="middle">commands</text>`);

  // ---------------- latency over time
  const tTop = 430;
  const tBottom = H - 70;
  const th = tBottom - tTop;
  const tMaxS = maxOf(r.samples.map((s) => s.at / 1000), 0.001);
  const txTicks = niceTicks(0, tMaxS, 8);
  const txMax = txTicks[txTicks.length - 1] || 1;
  const tyTicks = niceTicks(0, maxLat * 1.05, 5);
  const tyMax = tyTicks[tyTicks.length - 1] || 1;
  const TX = (sec: number): number => left + (sec / txMax) * pw;
  const TY = (v: number): number => tBottom - (v / tyMax) * th;
  out.push(`<text x="${left}" y="${tTop - 22}" font-size="15" font-weight="bold">Latency over time</text>`);
  for (const t of tyTicks) out.push(`<line x1="${left}" x2="${right}" y1="${TY(t)}" y2="${TY(t)}" stroke="#e5e5e5"/><text x="${left - 8}" y="${TY(t) + 4}" text-anchor="end">${fmt(t)}</text>`);
  for (const t of txTicks) out.push(`<line x1="${TX(t)}" x2="${TX(t)}" y1="${tBottom}" y2="${tBottom + 5}" stroke="#333"/><text x="${TX(t)}" y="${tBottom + 20}" text-anchor="middle">${fmt(t)}</text>`);
  const radius = r.samples.length > 2000 ? 1.2 : r.samples.length > 300 ? 1.8 : 2.8;
  for (const s of present) {
    const pts = r.samples.filter((x) => x[s.key] !== undefined);
    // feedback as rings: it often coincides with ACT_TERM, which stays visible underneath
    out.push(s.key === 'feedback' ? `<g fill="none" stroke="${s.color}" stroke-width="1.2">` : `<g fill="${s.color}" fill-opacity="0.8">`);
    for (const p of pts) out.push(`<circle cx="${TX(p.at / 1000).toFixed(1)}" cy="${TY(p[s.key] as number).toFixed(1)}" r="${radius}"/>`);
    out.push('</g>');
  }
  const failed = r.samples.filter((x) => x.outcome !== 'positive');
  if (failed.length) {
    out.push('<g stroke="#d62728" stroke-width="1.6">');
    for (const p of failed) {
      const x = TX(p.at / 1000);
      const y = tTop + 6;
      out.push(`<path d="M${(x - 4).toFixed(1)} ${y - 4}L${(x + 4).toFixed(1)} ${y + 4}M${(x - 4).toFixed(1)} ${y + 4}L${(x + 4).toFixed(1)} ${y - 4}"/>`);
    }
    out.push('</g>');
  }
  out.push(`<line x1="${left}" x2="${right}" y1="${tBottom}" y2="${tBottom}" stroke="#333"/><line x1="${left}" x2="${left}" y1="${tTop}" y2="${tBottom}" stroke="#333"/>`);
  out.push(`<text x="${(left + right) / 2}" y="${tBottom + 40}" text-anchor="middle">time since the first command (s)</text>`);
  out.push(`<text transform="translate(${left - 50} ${(tTop + tBottom) / 2}) rotate(-90)" text-anchor="middle">latency (ms)</text>`);

  // ---------------- legend and statistics
  const lx = right + 25;
  let ly = hTop + 10;
  out.push(`<text x="${lx}" y="${ly}" font-weight="bold">Legend</text>`);
  for (const s of present) {
    ly += 22;
    out.push(`<rect x="${lx}" y="${ly - 11}" width="14" height="14" fill="${s.color}" fill-opacity="0.6" stroke="${s.color}"/><text x="${lx + 22}" y="${ly}">${s.label}</text>`);
  }
  if (failed.length) {
    ly += 22;
    out.push(`<path d="M${lx + 3} ${ly - 8}L${lx + 11} ${ly}M${lx + 3} ${ly}L${lx + 11} ${ly - 8}" stroke="#d62728" stroke-width="1.6"/><text x="${lx + 22}" y="${ly}">negative / timeout</text>`);
  }
  ly += 36;
  out.push(`<text x="${lx}" y="${ly}" font-weight="bold">Statistics (ms)</text>`);
  for (const s of present) {
    const st = r.stats[s.key];
    if (!st) continue;
    ly += 22;
    out.push(`<text x="${lx}" y="${ly}" fill="${s.color}" font-weight="bold">${s.label} (n=${st.count})</text>`);
    for (const [k, v] of [['min', st.min], ['p50', st.p50], ['p90', st.p90], ['p99', st.p99], ['max', st.max]] as const) {
      ly += 17;
      out.push(`<text x="${lx + 10}" y="${ly}">${k}</text><text x="${lx + 150}" y="${ly}" text-anchor="end">${fmt(v)}</text>`);
    }
  }
  if (present.length === 0) out.push(`<text x="${(left + right) / 2}" y="${(hTop + hBottom) / 2}" text-anchor="middle" fill="#888">no latency measured</text>`);
  out.push('</svg>');
  return out.join('\n') + '\n';
}

/** The largest of `values` and `start` (a loop: a run may have more samples than a call takes arguments). */
function maxOf(values: readonly number[], start: number): number {
  let m = start;
  for (const v of values) if (v > m) m = v;
  return m;
}
