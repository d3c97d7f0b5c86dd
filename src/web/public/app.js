// iec104 workbench page: plain ES2022 JavaScript, no framework, no external assets.
// Reads the JSON API under /api/ and live updates from /api/events (server-sent events).
// Everything from the server is put in the page as text (never as HTML).

/** Build an element: h('td', {class: 'num'}, 'text', child…). */
function h(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') e.className = v;
    else if (k === 'style') e.style.cssText = v; // CSSOM, allowed by the page's CSP (style attributes are not)
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else if (k === 'text') e.textContent = v;
    else e.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children) if (c !== undefined && c !== null && c !== false) e.append(c instanceof Node ? c : String(c));
  return e;
}
const $ = (s) => document.querySelector(s);

async function api(path, init) {
  const r = await fetch(path, init);
  const body = await r.json().catch(() => ({ error: `HTTP ${r.status}` }));
  if (!r.ok) throw Object.assign(new Error(body.error ?? `HTTP ${r.status}`), { status: r.status });
  return body;
}

const fmtTime = (ms) => {
  if (!ms) return '';
  const d = new Date(ms);
  return d.toISOString().slice(11, 23);
};
const fmtMs = (v) => (v === undefined || v === null ? '' : `${Math.round(v * 10) / 10} ms`);

// ------------------------------------------------------------------------------------------------
// decoder (shared by the decoder page and the capture page)

/** Render an explanation (the answer of /api/decode) into `box`. */
function renderExplanation(box, ans) {
  box.replaceChildren();
  if (ans.summary) box.append(h('div', { class: 'summary', id: 'decode-summary' }, ans.summary));
  if (ans.error) {
    const m = ans.error.message.startsWith(ans.error.code) ? ans.error.message : `${ans.error.code} at octet ${ans.error.offset ?? '?'} (${ans.error.field ?? ''}): ${ans.error.message}`;
    box.append(h('div', { class: 'error', id: 'decode-error' }, m));
  }
  for (const w of ans.warnings ?? []) box.append(h('div', { class: 'error' }, `warning: ${w}`));
  const strip = h('div', { class: 'hexstrip', id: 'hexstrip' });
  const tbody = h('tbody');
  const byRow = [];
  const highlight = (i, on) => {
    for (const s of byRow[i].spans) s.classList.toggle('hl', on);
    byRow[i].tr.classList.toggle('hl', on);
  };
  ans.rows.forEach((r, i) => {
    const spans = r.bytes.split(' ').filter(Boolean).map((b) => h('span', { class: `l-${r.layer}`, 'data-row': i, title: `${r.field}: ${r.meaning}` }, b));
    const tr = h('tr', { 'data-row': i },
      h('td', { class: 'num' }, r.offset), h('td', { class: 'bytes' }, r.bytes), h('td', { class: `field l-${r.layer}` }, r.field),
      h('td', { class: 'num mono' }, typeof r.raw === 'number' ? r.raw : ''), h('td', { class: 'meaning' }, r.meaning));
    byRow.push({ spans, tr });
    for (const s of spans) {
      s.addEventListener('mouseenter', () => highlight(i, true));
      s.addEventListener('mouseleave', () => highlight(i, false));
    }
    tr.addEventListener('mouseenter', () => highlight(i, true));
    tr.addEventListener('mouseleave', () => highlight(i, false));
    strip.append(...spans);
    tbody.append(tr);
  });
  box.append(strip,
    h('div', { class: 'legend' }, h('span', { class: 'l-apci' }, 'APCI'), h('span', { class: 'l-asdu-header' }, 'ASDU header'), h('span', { class: 'l-ioa' }, 'IOA'),
      h('span', { class: 'l-element' }, 'information element'), h('span', { class: 'l-other' }, 'extra / unexplained')),
    h('table', { class: 'explain', id: 'explain-table' },
      h('thead', {}, h('tr', {}, h('th', { class: 'num' }, 'offset'), h('th', {}, 'octets'), h('th', {}, 'field'), h('th', { class: 'num' }, 'raw'), h('th', {}, 'meaning'))), tbody));
}

function decoderPage(main) {
  const params = new URLSearchParams(location.search);
  const input = h('textarea', { id: 'hex-input', placeholder: 'paste a frame in hex, e.g. 68 0E 00 00 00 00 64 01 06 00 01 00 00 00 00 14', spellcheck: 'false' });
  input.value = params.get('hex') ?? '';
  const out = h('div', { id: 'decode-out' });
  const share = h('a', { id: 'share-link', href: '#' }, '');
  const run = async () => {
    const hex = input.value.trim();
    const url = new URL(location.href);
    if (hex) url.searchParams.set('hex', hex.replace(/\s+/g, ' '));
    else url.searchParams.delete('hex');
    history.replaceState(null, '', url);
    share.textContent = hex ? 'link to this frame' : '';
    share.href = url.pathname + url.search;
    if (!hex) return out.replaceChildren();
    try {
      renderExplanation(out, await api(`/api/decode?hex=${encodeURIComponent(hex)}`));
    } catch (e) {
      out.replaceChildren(h('div', { class: 'error', id: 'decode-error' }, e.message));
    }
  };
  main.append(h('section', { class: 'wide' },
    h('h2', {}, 'Frame decoder', h('small', {}, 'the byte-by-byte explanation of iec104 decode')),
    input,
    h('div', { class: 'toolbar' }, h('button', { id: 'decode-btn', onclick: run }, 'Explain'), share),
    out));
  input.addEventListener('keydown', (e) => { if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) run(); });
  if (input.value) run();
}

// ------------------------------------------------------------------------------------------------
// live page

const COLS = [
  { key: 'ca', label: 'CA', num: true }, { key: 'ioa', label: 'IOA', num: true }, { key: 'name', label: 'name' }, { key: 'type', label: 'type' },
  { key: 'value', label: 'value' }, { key: 'quality', label: 'quality' }, { key: 'time', label: 'time tag' }, { key: 'cause', label: 'cause' },
  { key: 'updated', label: 'updated', num: true },
];
const ROW_H = 22;

function pointsTable(section, onPick) {
  const points = new Map();
  let sortKey = 'ioa', desc = false, filter = '';
  let view = [];
  let dirtyView = true, scheduled = false, lastRender = 0;
  const counter = h('small', { id: 'points-count' });
  const head = h('div', { class: 'vhead' });
  const spacer = h('div', { style: 'position:relative' });
  const grid = h('div', { class: 'vgrid', id: 'points' }, head, spacer);
  const pool = [];
  for (const c of COLS) {
    const d = h('div', { 'data-key': c.key, class: c.num ? 'num' : '' }, c.label);
    d.addEventListener('click', () => {
      if (sortKey === c.key) desc = !desc;
      else { sortKey = c.key; desc = false; }
      dirtyView = true; schedule();
    });
    head.append(d);
  }
  const search = h('input', { type: 'search', id: 'points-filter', placeholder: 'filter: name, IOA, type, value, IV…' });
  search.addEventListener('input', () => { filter = search.value.trim().toLowerCase(); dirtyView = true; schedule(); });
  section.append(h('h2', {}, 'Points', counter), h('div', { class: 'toolbar' }, search), grid);
  grid.addEventListener('scroll', () => schedule(true));
  // a click on a row shows that point's trend
  spacer.addEventListener('click', (e) => {
    const row = e.target.closest?.('.vrow');
    const p = row && points.get(row.dataset.key);
    if (p && onPick) onPick(p);
  });

  const cmp = (a, b) => {
    const x = sortKey === 'quality' ? (a.quality ?? []).join() : a[sortKey];
    const y = sortKey === 'quality' ? (b.quality ?? []).join() : b[sortKey];
    let r = typeof x === 'number' && typeof y === 'number' ? x - y : String(x).localeCompare(String(y), undefined, { numeric: true });
    if (r === 0) r = a.ca - b.ca || a.ioa - b.ioa;
    return desc ? -r : r;
  };
  const matches = (p) => !filter || `${p.ca} ${p.ioa} ${p.name} ${p.type} ${p.value} ${(p.quality ?? []).join(' ')} ${p.cause}`.toLowerCase().includes(filter);
  function schedule(now) {
    if (scheduled) return;
    scheduled = true;
    // throttled: at most one render every 200 ms for data; scrolling renders on the next frame
    const wait = now ? 0 : Math.max(0, 200 - (performance.now() - lastRender));
    setTimeout(() => requestAnimationFrame(render), wait);
  }
  function render() {
    scheduled = false;
    lastRender = performance.now();
    if (dirtyView) {
      view = [];
      for (const p of points.values()) if (matches(p)) view.push(p);
      view.sort(cmp);
      dirtyView = false;
      for (const d of head.children) d.className = `${d.dataset.key === sortKey ? 'sorted' : ''}${desc && d.dataset.key === sortKey ? ' desc' : ''}`;
      counter.textContent = `${view.length} of ${points.size}`;
    }
    spacer.style.height = `${view.length * ROW_H}px`;
    const first = Math.max(0, Math.floor(grid.scrollTop / ROW_H) - 2);
    const count = Math.min(view.length - first, Math.ceil(grid.clientHeight / ROW_H) + 4);
    while (pool.length < count) {
      const r = h('div', { class: 'vrow' });
      for (const c of COLS) r.append(h('div', { class: c.num ? 'num' : c.key === 'value' ? 'val' : '' }));
      pool.push(r);
      spacer.append(r);
    }
    const t = Date.now();
    for (let i = 0; i < pool.length; i++) {
      const r = pool[i];
      if (i >= count) { r.style.display = 'none'; continue; }
      const p = view[first + i];
      r.style.display = '';
      r.style.top = `${(first + i) * ROW_H}px`;
      r.dataset.key = p.key;
      const cells = r.children;
      cells[0].textContent = p.ca;
      cells[1].textContent = p.ioa;
      cells[2].textContent = p.name;
      cells[3].textContent = p.type;
      cells[4].textContent = p.value;
      const q = cells[5];
      q.replaceChildren(...(p.quality === null ? [] : p.quality.length ? p.quality.map((f) => h('span', { class: `tag q-${f}`, title: QUALITY[f] ?? f }, f)) : [h('span', { class: 'q-ok' }, 'ok')]));
      cells[6].textContent = p.time;
      cells[7].textContent = p.cause;
      cells[8].textContent = fmtTime(p.updated);
      r.classList.toggle('fresh', t - p.updated < 1000);
    }
  }
  return {
    set(rows) {
      for (const p of rows) {
        const old = points.get(p.key);
        if (!old || old.updated <= p.updated) points.set(p.key, p);
      }
      dirtyView = true;
      schedule();
    },
  };
}

/** A point's value as a number for the trend plot (ON/OFF as 1/0), or NaN. */
function numericValue(text) {
  if (text === 'ON') return 1;
  if (text === 'OFF') return 0;
  return /^-?\d/.test(text) ? parseFloat(text) : NaN;
}

/**
 * Trend of one measured value: the values the page received for the point picked in the table
 * (live updates arrive at most every flush period, so faster changes show as their latest value).
 */
function trendPanel(section) {
  const title = h('small', { id: 'trend-title' }, 'click a point in the table');
  const box = h('div', {});
  section.append(h('h2', {}, 'Trend', title), box);
  const MAX = 600;
  let key = '';
  let hist = [];
  const draw = () => {
    const { W, H, L, R, T, B } = { W: 1300, H: 170, L: 70, R: 1290, T: 10, B: 145 };
    const svg = s('svg', { id: 'value-trend', viewBox: `0 0 ${W} ${H}`, class: 'plot' });
    if (hist.length) {
      const t0 = hist[0].t;
      const t1 = Math.max(t0 + 1, hist[hist.length - 1].t);
      let lo = Math.min(...hist.map((x) => x.v));
      let hi = Math.max(...hist.map((x) => x.v));
      if (hi === lo) { hi += 1; lo -= 1; }
      svg.dataset.min = lo; svg.dataset.max = hi;
      const xOf = (t) => L + ((t - t0) / (t1 - t0)) * (R - L);
      const yOf = (v) => B - ((v - lo) / (hi - lo)) * (B - T);
      svg.append(s('line', { x1: L, x2: R, y1: B, y2: B, stroke: '#334155' }), s('line', { x1: L, x2: L, y1: T, y2: B, stroke: '#334155' }));
      svg.append(s('text', { x: L - 6, y: B + 4, 'text-anchor': 'end', class: 'tick' }, `${Number(lo.toPrecision(6))}`), s('text', { x: L - 6, y: T + 8, 'text-anchor': 'end', class: 'tick' }, `${Number(hi.toPrecision(6))}`));
      svg.append(s('text', { x: L, y: B + 16, class: 'tick' }, fmtTime(t0)), s('text', { x: R, y: B + 16, 'text-anchor': 'end', class: 'tick' }, fmtTime(t1)));
      if (hist.length > 1) svg.append(s('polyline', { points: hist.map((x) => `${xOf(x.t).toFixed(1)},${yOf(x.v).toFixed(1)}`).join(' '), fill: 'none', stroke: '#0f766e' }));
      for (const x of hist) {
        const c = s('circle', { cx: xOf(x.t).toFixed(2), cy: yOf(x.v).toFixed(2), r: 2.5, fill: '#0f766e', 'data-v': x.v, 'data-t': x.t });
        c.append(s('title', {}, `${x.text} at ${fmtTime(x.t)}`));
        svg.append(c);
      }
    }
    box.replaceChildren(svg);
    section.dataset.key = key;
    section.dataset.samples = String(hist.length);
  };
  const push = (p) => {
    const v = numericValue(p.value);
    if (!Number.isFinite(v)) return false;
    if (hist.length && hist[hist.length - 1].t === p.updated && hist[hist.length - 1].text === p.value) return false;
    hist.push({ t: p.updated, v, text: p.value });
    if (hist.length > MAX) hist.shift();
    return true;
  };
  return {
    pick(p) {
      key = p.key;
      hist = [];
      title.textContent = `CA ${p.ca} IOA ${p.ioa}${p.name ? ` ${p.name}` : ''} (${p.type})${Number.isFinite(numericValue(p.value)) ? '' : ': not a number'}`;
      push(p);
      draw();
    },
    set(rows) {
      if (!key) return;
      let changed = false;
      for (const p of rows) if (p.key === key && push(p)) changed = true;
      if (changed) draw();
    },
  };
}
const QUALITY = { IV: 'invalid', NT: 'not topical', SB: 'substituted', BL: 'blocked', OV: 'overflow', EI: 'elapsed time invalid' };

function connectionsPanel(section) {
  const box = h('div', { class: 'conn-grid', id: 'connections' });
  section.append(h('h2', {}, 'Connections'), box);
  return (rows) => {
    if (!rows.length) return box.replaceChildren(h('div', { class: 'muted' }, 'no connection'));
    box.replaceChildren(...rows.map((c) => {
      const dl = h('dl', {});
      const add = (k, v, cls) => { if (v !== undefined && v !== null && v !== '') dl.append(h('dt', {}, k), h('dd', { class: cls }, v)); };
      add('peer', c.peer);
      if (c.vs !== null) add('data transfer', c.started ? 'STARTDT (started)' : 'STOPDT (stopped)');
      add('V(S) / V(R)', c.vs === null ? '' : `${c.vs} / ${c.vr}`);
      add('unacknowledged', c.unacknowledged);
      add('queued', c.queued);
      if (c.group !== undefined) add('group', `${c.group}${c.active ? ' (active)' : ' (standby)'}`);
      if (c.tls) {
        const t = c.tls;
        add('TLS', `${t.version} · ${t.suite}${t.standardName ? ` (${t.standardName})` : ''}${t.forwardSecrecy ? '' : ' · no forward secrecy'}${t.resumed ? ' · resumed' : ''}`, 'tls-session');
        add('peer subject', t.peerSubject, 'tls-subject');
        add('issuer', t.peerIssuer, 'tls-issuer');
        add('fingerprint', t.peerFingerprint, 'tls-fingerprint mono');
        if (t.peerValidTo) add('expires', `${t.peerValidTo}${expiresIn(t.peerValidTo)}`, 'tls-expiry');
        add('key', t.peerKey, 'tls-key');
        add('verification', t.verification, `tls-verification ${t.verified ? 'ok' : 'warn'}`);
      }
      const ctr = Object.entries(c.counters ?? {}).filter(([, v]) => v).map(([k, v]) => `${k} ${v}`).join(', ');
      add('counters', ctr, 'counters');
      return h('div', { class: 'conn', 'data-role': c.role, 'data-id': c.id },
        h('div', {}, h('b', {}, c.role === 'proxy' && c.leg ? c.id : `${c.role} ${c.id}`), ' ', h('span', { class: `state ${c.started ? 'started' : c.state}` }, c.state)), dl);
    }));
  };
}

/** ` (in 364 days)` / ` (expired 3 days ago)` for a certificate's notAfter text. */
function expiresIn(text) {
  const t = Date.parse(text);
  if (!Number.isFinite(t)) return '';
  const days = Math.round((t - Date.now()) / 86400000);
  return days >= 0 ? ` (in ${days} day${days === 1 ? '' : 's'})` : ` (expired ${-days} day${days === -1 ? '' : 's'} ago)`;
}

/** The station's redundancy groups: event queue depth per group, its connections and the active one. */
function groupsPanel(section) {
  const body = h('tbody', {});
  const wrap = h('div', { id: 'groups-box', hidden: true },
    h('h3', {}, 'Redundancy groups (station event queues)'),
    h('table', { id: 'groups' }, h('thead', {}, h('tr', {}, h('th', {}, 'group'), h('th', {}, 'connections'), h('th', {}, 'active'), h('th', { class: 'num' }, 'queued'),
      h('th', { class: 'num' }, 'in flight'), h('th', { class: 'num' }, 'capacity'), h('th', { class: 'num' }, 'sent'), h('th', { class: 'num' }, 'acknowledged'), h('th', { class: 'num' }, 'dropped'), h('th', { class: 'num' }, 'takeovers'))), body));
  section.append(wrap);
  return (rows) => {
    wrap.hidden = rows.length === 0;
    body.replaceChildren(...rows.map((g) => h('tr', { 'data-group': g.name },
      h('td', { class: 'mono' }, g.name + (g.persistent ? '' : ' (per connection)')), h('td', {}, g.connections.join(', ') || '—'), h('td', {}, g.active ?? '—'),
      h('td', { class: 'num q-pending' }, g.pending), h('td', { class: 'num q-inflight' }, g.inFlight), h('td', { class: 'num' }, g.capacity), h('td', { class: 'num' }, g.sent),
      h('td', { class: 'num' }, g.acknowledged), h('td', { class: `num${g.dropped ? ' warn' : ''}` }, g.dropped), h('td', { class: 'num' }, g.takeovers))));
  };
}

// ------------------------------------------------------------------------------------------------
// command latency: histogram and trend (numbers from /api/latency, drawn here)

const SVGNS = 'http://www.w3.org/2000/svg';
function s(tag, attrs, text) {
  const e = document.createElementNS(SVGNS, tag);
  for (const [k, v] of Object.entries(attrs ?? {})) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
}
const SERIES = [['actCon', 'ACT_CON', '#1f77b4'], ['actTerm', 'ACT_TERM', '#ff7f0e']];
const round = (v) => (v >= 100 ? Math.round(v) : Math.round(v * 10) / 10);
/** Plot geometry shared by the page and the tests: W × H, plot area [L, R] × [T, B]. */
const PLOT = { W: 600, H: 210, L: 46, R: 590, T: 10, B: 180 };

function histogramSvg(g) {
  const { W, H, L, R, T, B } = PLOT;
  const svg = s('svg', { id: 'latency-hist', viewBox: `0 0 ${W} ${H}`, class: 'plot', 'data-width': g.histogram.width });
  const nb = g.histogram.actCon.length;
  const series = SERIES.filter(([k]) => g[k]);
  const cMax = Math.max(1, ...series.flatMap(([k]) => g.histogram[k]));
  svg.dataset.max = cMax;
  const xOf = (b) => L + (b / nb) * (R - L);
  const yOf = (n) => B - (n / cMax) * (B - T);
  svg.append(s('line', { x1: L, x2: R, y1: B, y2: B, stroke: '#334155' }), s('line', { x1: L, x2: L, y1: T, y2: B, stroke: '#334155' }));
  for (const [n, anchor] of [[0, 'end'], [cMax, 'end']]) svg.append(s('text', { x: L - 6, y: yOf(n) + 4, 'text-anchor': anchor, class: 'tick' }, String(n)));
  for (const [b, anchor] of [[0, 'start'], [nb / 2, 'middle'], [nb, 'end']]) svg.append(s('text', { x: xOf(b), y: B + 16, 'text-anchor': anchor, class: 'tick' }, `${round(b * g.histogram.width)} ms`));
  series.forEach(([k, label, color], si) => {
    g.histogram[k].forEach((n, b) => {
      if (!n) return;
      const slot = (xOf(b + 1) - xOf(b)) / series.length;
      const r = s('rect', { x: (xOf(b) + si * slot).toFixed(2), y: yOf(n).toFixed(2), width: Math.max(1, slot - 1).toFixed(2), height: (B - yOf(n)).toFixed(2), fill: color, 'fill-opacity': 0.55, stroke: color, 'data-series': k, 'data-bin': b, 'data-n': n });
      r.append(s('title', {}, `${label} ${round(b * g.histogram.width)}–${round((b + 1) * g.histogram.width)} ms: ${n} command${n === 1 ? '' : 's'}`));
      svg.append(r);
    });
  });
  svg.append(s('text', { x: (L + R) / 2, y: H - 2, 'text-anchor': 'middle', class: 'axis' }, 'latency from sending the command (ms) · commands per bin'));
  return svg;
}

function trendSvg(g) {
  const { W, H, L, R, T, B } = PLOT;
  const svg = s('svg', { id: 'latency-trend', viewBox: `0 0 ${W} ${H}`, class: 'plot' });
  const pts = g.samples;
  const t0 = Math.min(...pts.map((p) => p.ts));
  const t1 = Math.max(t0 + 1, ...pts.map((p) => p.ts));
  const vMax = Math.max(1, ...pts.flatMap((p) => [p.actConMs ?? 0, p.actTermMs ?? 0])) * 1.05;
  svg.dataset.max = vMax;
  const xOf = (t) => L + ((t - t0) / (t1 - t0)) * (R - L);
  const yOf = (v) => B - (v / vMax) * (B - T);
  svg.append(s('line', { x1: L, x2: R, y1: B, y2: B, stroke: '#334155' }), s('line', { x1: L, x2: L, y1: T, y2: B, stroke: '#334155' }));
  svg.append(s('text', { x: L - 6, y: B + 4, 'text-anchor': 'end', class: 'tick' }, '0'), s('text', { x: L - 6, y: T + 8, 'text-anchor': 'end', class: 'tick' }, `${round(vMax)}`));
  svg.append(s('text', { x: L, y: B + 16, class: 'tick' }, fmtTime(t0)), s('text', { x: R, y: B + 16, 'text-anchor': 'end', class: 'tick' }, fmtTime(t1)));
  for (const [k, label, color] of SERIES) {
    const line = pts.filter((p) => p[`${k}Ms`] !== undefined);
    if (line.length > 1) svg.append(s('polyline', { points: line.map((p) => `${xOf(p.ts).toFixed(1)},${yOf(p[`${k}Ms`]).toFixed(1)}`).join(' '), fill: 'none', stroke: color, 'stroke-opacity': 0.35 }));
    for (const p of line) {
      const c = s('circle', { cx: xOf(p.ts).toFixed(2), cy: yOf(p[`${k}Ms`]).toFixed(2), r: 3, fill: color, 'data-series': k, 'data-id': p.id, 'data-v': p[`${k}Ms`] });
      c.append(s('title', {}, `${label} ${round(p[`${k}Ms`])} ms (${p.outcome}, ${fmtTime(p.ts)})`));
      svg.append(c);
    }
  }
  svg.append(s('text', { x: (L + R) / 2, y: H - 2, 'text-anchor': 'middle', class: 'axis' }, 'latency (ms) of each command over time'));
  return svg;
}

function latencyPanel(section) {
  const pick = h('select', { id: 'latency-group', hidden: true });
  const stats = h('div', { id: 'latency-stats', class: 'muted' }, 'no command with a latency yet');
  const plots = h('div', { class: 'plots' });
  const legend = h('div', { class: 'legend' }, ...SERIES.map(([, label, color]) => h('span', { style: `border-left: 10px solid ${color}` }, label)));
  section.append(h('h2', {}, 'Command latency', h('small', {}, 'ACT_CON and ACT_TERM per command type and point')), h('div', { class: 'toolbar' }, pick, legend), stats, plots);
  let groups = [];
  let chosen = '';
  let pending = false;
  // first choice: the command type with the most commands (then one with ACT_TERM)
  const busiest = () => [...groups].filter((g) => !g.point).sort((a, b) => b.count - a.count || Number(!!b.actTerm) - Number(!!a.actTerm))[0];
  const draw = () => {
    const g = groups.find((x) => x.key === chosen) ?? busiest() ?? groups[0];
    if (!g) return;
    chosen = g.key;
    pick.value = g.key;
    const st = (k, label) => (g[k] ? `${label} n=${g[k].count} p50 ${g[k].p50} p90 ${g[k].p90} max ${g[k].max} ms` : `${label} —`);
    stats.textContent = `${g.key}: ${g.count} command${g.count === 1 ? '' : 's'}; ${st('actCon', 'ACT_CON')}; ${st('actTerm', 'ACT_TERM')}`;
    stats.classList.remove('muted');
    plots.replaceChildren(histogramSvg(g), trendSvg(g));
    section.dataset.group = g.key;
    section.dataset.drawn = String(g.count);
  };
  pick.addEventListener('change', () => { chosen = pick.value; draw(); });
  const refresh = async () => {
    pending = false;
    const ans = await api('/api/latency');
    groups = ans.groups.filter((g) => g.actCon || g.actTerm);
    pick.hidden = groups.length === 0;
    const keys = groups.map((g) => g.key).join('\n');
    if (pick.dataset.keys !== keys) {
      pick.dataset.keys = keys;
      pick.replaceChildren(...groups.map((g) => h('option', { value: g.key }, g.point ? `${g.type} at CA ${g.point.ca} IOA ${g.point.ioa}` : `${g.type} (all points)`)));
    }
    if (groups.some((g) => g.key === chosen)) pick.value = chosen;
    draw();
  };
  return {
    refresh,
    /** Called on each command event: re-read the numbers at most every 300 ms. */
    changed() {
      if (pending) return;
      pending = true;
      setTimeout(refresh, 300);
    },
  };
}

function alertRow(a) {
  return h('tr', {},
    h('td', {}, fmtTime(a.ts)), h('td', {}, h('span', { class: `sev sev-${a.severity}` }, a.severity)), h('td', { class: 'mono' }, a.rule),
    h('td', { class: 'mono' }, a.mitre ?? ''), h('td', { style: 'white-space:normal' }, a.message), h('td', { class: 'evidence' }, JSON.stringify(a.evidence ?? {})));
}
function alertsTable(id) {
  const body = h('tbody', { id });
  const table = h('table', {}, h('thead', {}, h('tr', {}, h('th', {}, 'time'), h('th', {}, 'severity'), h('th', {}, 'rule'), h('th', {}, 'ATT&CK'), h('th', {}, 'message'), h('th', {}, 'evidence'))), body);
  return { table, body };
}

function commandRow(c) {
  return h('tr', { 'data-id': c.id, 'data-step': c.step, 'data-origin': c.origin, 'data-outcome': c.outcome },
    h('td', {}, fmtTime(c.ts)), h('td', { class: 'mono' }, c.type), h('td', { class: 'num' }, c.ca), h('td', { class: 'num' }, c.ioa),
    h('td', { class: 'mono' }, JSON.stringify(c.value)), h('td', {}, c.step), h('td', { class: `out-${c.outcome}` }, c.outcome),
    h('td', { class: 'num' }, fmtMs(c.actConMs)), h('td', { class: 'num' }, fmtMs(c.actTermMs)), h('td', { style: 'white-space:normal' }, c.reason ?? ''),
    h('td', { class: 'mono' }, [c.origin, c.peer].filter(Boolean).join(' ')));
}
function commandsTable(id) {
  const body = h('tbody', { id });
  const table = h('table', {}, h('thead', {}, h('tr', {}, h('th', {}, 'time'), h('th', {}, 'type'), h('th', { class: 'num' }, 'CA'), h('th', { class: 'num' }, 'IOA'),
    h('th', {}, 'value'), h('th', {}, 'step'), h('th', {}, 'outcome'), h('th', { class: 'num' }, 'ACT_CON'), h('th', { class: 'num' }, 'ACT_TERM'), h('th', {}, 'reason'), h('th', {}, 'from'))), body);
  return { table, body };
}

const CMD_TYPES = [[45, 'C_SC_NA_1 single'], [46, 'C_DC_NA_1 double'], [47, 'C_RC_NA_1 step'], [48, 'C_SE_NA_1 set-point normalized'], [49, 'C_SE_NB_1 set-point scaled'], [50, 'C_SE_NC_1 set-point float'], [51, 'C_BO_NA_1 bitstring']];

function commandForm(section, info) {
  const ro = !info.commands || !info.sources.master;
  const pick = h('select', { id: 'cmd-point', disabled: ro },
    h('option', { value: '' }, 'address…'), ...info.commandPoints.map((c, i) => h('option', { value: i }, `${c.name || 'IOA ' + c.ioa} (CA ${c.ca} IOA ${c.ioa}, ${c.type})`)));
  const ca = h('input', { type: 'number', id: 'cmd-ca', value: 1, style: 'width:70px', disabled: ro });
  const ioa = h('input', { type: 'number', id: 'cmd-ioa', style: 'width:90px', disabled: ro });
  const type = h('select', { id: 'cmd-type', disabled: ro }, ...CMD_TYPES.map(([t, n]) => h('option', { value: t }, n)));
  const value = h('input', { type: 'text', id: 'cmd-value', value: '1', style: 'width:80px', disabled: ro, title: 'single: 1 on / 0 off; double: 2 on / 1 off; step: 2 higher / 1 lower; set-point: a number' });
  const step = h('select', { id: 'cmd-step', disabled: ro }, h('option', { value: 'sbo' }, 'select + execute'), h('option', { value: 'select' }, 'select'), h('option', { value: 'execute' }, 'execute'), h('option', { value: 'direct' }, 'direct execute'));
  pick.addEventListener('change', () => {
    const c = info.commandPoints[Number(pick.value)];
    if (!c) return;
    ca.value = c.ca; ioa.value = c.ioa; type.value = c.typeId;
  });
  const confirmBox = h('div', { id: 'cmd-confirm' });
  const note = h('div', { id: 'cmd-note', class: 'readonly' });
  const send = h('button', { id: 'cmd-send', disabled: ro }, 'Send…');
  send.addEventListener('click', () => {
    const req = { ca: Number(ca.value), ioa: Number(ioa.value), typeId: Number(type.value), value: value.value === 'true' ? true : value.value === 'false' ? false : Number(value.value), step: step.value };
    const label = `${CMD_TYPES.find(([t]) => t === req.typeId)?.[1] ?? req.typeId} value ${JSON.stringify(req.value)} (${step.selectedOptions[0].textContent}) to CA ${req.ca} IOA ${req.ioa}`;
    const ok = h('button', { id: 'cmd-confirm-btn' }, 'Confirm');
    const cancel = h('button', { class: 'secondary', id: 'cmd-cancel-btn', onclick: () => confirmBox.replaceChildren() }, 'Cancel');
    ok.addEventListener('click', async () => {
      confirmBox.replaceChildren();
      note.textContent = `sending ${label}…`;
      try {
        const row = await api('/api/command', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(req) });
        note.textContent = `${label}: ${row.outcome}${row.actConMs !== undefined ? `, ACT_CON after ${fmtMs(row.actConMs)}` : ''}${row.reason ? ` (${row.reason})` : ''}`;
      } catch (e) {
        note.textContent = `refused: ${e.message}`;
      }
    });
    confirmBox.replaceChildren(h('div', { class: 'confirm' }, `Send ${label}? `, ok, ' ', cancel));
  });
  if (ro) note.textContent = info.sources.master ? 'read-only: start the process with --ui-commands to send commands from this page' : 'read-only: no controlling station in this process';
  section.append(h('div', { class: 'toolbar', id: 'cmd-form' }, pick, 'CA', ca, 'IOA', ioa, type, 'value', value, step, send), confirmBox, note);
}

async function livePage(main, info) {
  const conn = h('section', { class: 'wide' });
  const pts = h('section', { class: 'wide' });
  const side = h('section', {});
  const al = h('section', {});
  const lat = h('section', { class: 'wide', id: 'latency' });
  const tr = h('section', { class: 'wide', id: 'trend' });
  main.append(conn, pts, tr, side, al, lat);
  const setConnections = connectionsPanel(conn);
  const setGroups = groupsPanel(conn);
  const latency = latencyPanel(lat);
  const trend = trendPanel(tr);
  const table = pointsTable(pts, (p) => trend.pick(p));
  side.append(h('h2', {}, 'Commands', h('small', {}, info.commands ? 'enabled (--ui-commands)' : 'read-only')));
  commandForm(side, info);
  const cmds = commandsTable('commands');
  side.append(h('div', { class: 'scroll' }, cmds.table));
  const alerts = alertsTable('alerts');
  const alertCount = h('small', { id: 'alert-count' }, '0');
  al.append(h('h2', {}, 'Events and alerts', alertCount), h('div', { class: 'scroll' }, alerts.table));
  let nAlerts = 0;
  const addAlert = (a) => { alerts.body.prepend(alertRow(a)); alertCount.textContent = String(++nAlerts); while (alerts.body.children.length > 500) alerts.body.lastChild.remove(); };
  const putCommand = (c) => {
    const old = cmds.body.querySelector(`tr[data-id="${c.id}"]`);
    if (old) old.replaceWith(commandRow(c));
    else cmds.body.prepend(commandRow(c));
    while (cmds.body.children.length > 500) cmds.body.lastChild.remove();
  };

  const es = new EventSource('/api/events');
  es.addEventListener('open', () => { $('#status').textContent = 'live'; $('#status').classList.add('live'); });
  es.addEventListener('error', () => { $('#status').textContent = 'reconnecting…'; $('#status').classList.remove('live'); });
  es.addEventListener('points', (e) => {
    const rows = JSON.parse(e.data);
    table.set(rows);
    trend.set(rows);
  });
  es.addEventListener('connections', (e) => setConnections(JSON.parse(e.data)));
  es.addEventListener('alert', (e) => addAlert(JSON.parse(e.data)));
  es.addEventListener('command', (e) => { putCommand(JSON.parse(e.data)); latency.changed(); });
  es.addEventListener('groups', (e) => setGroups(JSON.parse(e.data)));
  const [points, connections, alertList, commandList] = await Promise.all([api('/api/points'), api('/api/connections'), api('/api/alerts'), api('/api/commands')]);
  table.set(points);
  setConnections(connections);
  for (const a of alertList) addAlert(a);
  for (const c of commandList) putCommand(c);
  if (info.sources.station) setGroups(await api('/api/groups'));
  await latency.refresh();
}

// ------------------------------------------------------------------------------------------------
// capture page

function timeline(alerts, start, end) {
  const ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('class', 'timeline');
  svg.setAttribute('id', 'alert-timeline');
  svg.setAttribute('viewBox', '0 0 1000 70');
  svg.setAttribute('preserveAspectRatio', 'none');
  const span = Math.max(1, (end ?? 0) - (start ?? 0));
  const rows = { low: 55, medium: 40, high: 25, critical: 12 };
  const colors = { low: '#64748b', medium: '#b45309', high: '#dc2626', critical: '#7f1d1d' };
  const axis = document.createElementNS(ns, 'line');
  for (const [k, v] of Object.entries({ x1: 0, x2: 1000, y1: 65, y2: 65, stroke: '#cbd5e1' })) axis.setAttribute(k, v);
  svg.append(axis);
  for (const a of alerts) {
    const c = document.createElementNS(ns, 'rect');
    const x = ((a.ts - (start ?? a.ts)) / span) * 990 + 2;
    for (const [k, v] of Object.entries({ x, y: rows[a.severity] - 5, width: 4, height: 10, fill: colors[a.severity] ?? '#333' })) c.setAttribute(k, v);
    const t = document.createElementNS(ns, 'title');
    t.textContent = `${new Date(a.ts).toISOString()} ${a.severity} ${a.rule}: ${a.message}`;
    c.append(t);
    svg.append(c);
  }
  return svg;
}

async function capturePage(main) {
  const cap = await api('/api/capture');
  const inv = cap.inventory;
  const s = cap.summary;
  main.append(h('section', { class: 'wide', id: 'capture-summary' },
    h('h2', {}, `Capture ${cap.name}`, h('small', {}, `${s.frames} frames, ${cap.apdusTotal ?? ''} APDUs, ${inv.masters.length} master(s), ${inv.stations.length} station(s), ${cap.alerts.length} alert(s)`)),
    inv.start ? h('div', { class: 'muted' }, `${new Date(inv.start).toISOString()} — ${new Date(inv.end).toISOString()}`) : ''));

  const masters = h('section', {}, h('h2', {}, 'Masters'), h('table', { id: 'inv-masters' },
    h('thead', {}, h('tr', {}, h('th', {}, 'host'), h('th', {}, 'endpoints'), h('th', {}, 'stations'), h('th', { class: 'num' }, 'commands'))),
    h('tbody', {}, ...inv.masters.map((m) => h('tr', {}, h('td', { class: 'mono' }, m.host), h('td', { class: 'mono' }, m.endpoints.join(', ')), h('td', { class: 'mono' }, m.stations.join(', ')), h('td', { class: 'num' }, m.commands))))));
  const stations = h('section', {}, h('h2', {}, 'Stations'), h('table', { id: 'inv-stations' },
    h('thead', {}, h('tr', {}, h('th', {}, 'address'), h('th', {}, 'CAs'), h('th', {}, 'masters'), h('th', { class: 'num' }, 'IOAs'), h('th', {}, 'types'))),
    h('tbody', {}, ...inv.stations.map((st) => h('tr', {}, h('td', { class: 'mono' }, st.address), h('td', {}, st.commonAddresses.join(', ')), h('td', { class: 'mono' }, st.masters.join(', ')),
      h('td', { class: 'num' }, st.ioaCount), h('td', { style: 'white-space:normal' }, Object.entries(st.types).map(([t, n]) => `${t} ×${n}`).join(', ')))))));
  const ioaRows = inv.stations.flatMap((st) => st.ioas.map((i) => ({ st: st.address, ...i })));
  const ioas = h('section', { class: 'wide' }, h('h2', {}, 'IOA map', h('small', {}, `${ioaRows.length} objects`)), h('div', { class: 'scroll' }, h('table', { id: 'inv-ioas' },
    h('thead', {}, h('tr', {}, h('th', {}, 'station'), h('th', { class: 'num' }, 'CA'), h('th', { class: 'num' }, 'IOA'), h('th', {}, 'types'), h('th', {}, 'causes'), h('th', { class: 'num' }, 'min'), h('th', { class: 'num' }, 'max'), h('th', {}, 'quality'), h('th', { class: 'num' }, 'reports'))),
    h('tbody', {}, ...ioaRows.slice(0, 2000).map((i) => h('tr', {}, h('td', { class: 'mono' }, i.st), h('td', { class: 'num' }, i.ca), h('td', { class: 'num' }, i.ioa), h('td', { class: 'mono' }, i.types.join(', ')),
      h('td', {}, Object.entries(i.causes).map(([c, n]) => `${c} ${n}`).join(', ')), h('td', { class: 'num' }, i.min ?? ''), h('td', { class: 'num' }, i.max ?? ''),
      h('td', {}, Object.entries(i.quality).filter(([, n]) => n).map(([q, n]) => `${q.toUpperCase()} ${n}`).join(', ')), h('td', { class: 'num' }, i.count)))))));
  const cmds = commandsTable('capture-commands');
  for (const c of cap.commands) {
    cmds.body.append(commandRow({ id: c.frame, ts: c.ts, type: c.typeName, ca: c.ca, ioa: c.ioa, value: c.value, step: c.select === null ? 'direct' : c.select ? 'select' : 'execute', outcome: c.outcome, actConMs: c.conLatencyMs, actTermMs: c.termLatencyMs, reason: c.negativeCause }));
  }
  const commands = h('section', { class: 'wide' }, h('h2', {}, 'Commands', h('small', {}, `${cap.commands.length}`)), h('div', { class: 'scroll' }, cmds.table));
  const al = alertsTable('capture-alerts');
  for (const a of cap.alerts) al.body.append(alertRow(a));
  const alerts = h('section', { class: 'wide' }, h('h2', {}, 'Alerts', h('small', {}, `${cap.alerts.length}`)), timeline(cap.alerts, inv.start, inv.end), h('div', { class: 'scroll' }, al.table));

  const list = h('tbody', {});
  const explain = h('div', { id: 'apdu-explain', class: 'muted' }, 'click an APDU to see it explained byte by byte');
  let selected;
  const page = await api('/api/capture/apdus?offset=0&limit=2000');
  for (const r of page.rows) {
    const tr = h('tr', { 'data-index': r.index }, h('td', { class: 'num' }, r.frame), h('td', {}, r.ts.slice(11, 23)), h('td', { class: 'mono' }, r.src), h('td', { class: 'mono' }, r.dst), h('td', { class: 'mono' }, r.summary));
    tr.addEventListener('click', async () => {
      selected?.classList.remove('sel');
      selected = tr;
      tr.classList.add('sel');
      const ans = await api(`/api/capture/apdus/${r.index}`);
      explain.classList.remove('muted');
      renderExplanation(explain, ans);
    });
    list.append(tr);
  }
  const apdus = h('section', { class: 'wide' }, h('h2', {}, 'APDUs', h('small', {}, `${page.rows.length} of ${page.total} listed`)),
    h('div', { class: 'scroll' }, h('table', { class: 'apdu-list', id: 'capture-apdus' }, h('thead', {}, h('tr', {}, h('th', { class: 'num' }, 'frame'), h('th', {}, 'time'), h('th', {}, 'from'), h('th', {}, 'to'), h('th', {}, 'APDU'))), list)),
    explain);
  main.append(masters, stations, ioas, commands, alerts, apdus);
  $('#status').textContent = 'capture';
}

// ------------------------------------------------------------------------------------------------

async function start() {
  const main = $('#main');
  const info = await api('/api/info');
  $('#title').textContent = info.title;
  document.title = info.title;
  $('#nav-capture').hidden = !info.sources.capture;
  $('#nav-live').hidden = !info.sources.station && !info.sources.master && !info.sources.proxy;
  const path = location.pathname;
  const nav = path === '/decode' ? 'decode' : path === '/capture' ? 'capture' : 'live';
  $(`#nav-${nav}`).classList.add('active');
  document.body.dataset.page = nav;
  try {
    if (nav === 'decode') {
      decoderPage(main);
      $('#status').textContent = 'decoder';
    } else if (nav === 'capture') await capturePage(main);
    else if (!info.sources.station && !info.sources.master && !info.sources.proxy && info.sources.capture) location.replace('/capture');
    else await livePage(main, info);
    document.body.dataset.ready = 'true';
  } catch (e) {
    main.append(h('div', { class: 'error', id: 'page-error' }, e.message));
  }
}
start();
