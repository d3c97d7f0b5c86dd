/**
 * The fleet view's page (HTML, script, style), bundled as text so that the collector needs no
 * asset files. The script builds every cell with textContent (names from the broker are data,
 * never markup), routes by the URL hash (`#/`, `#/site/NAME`, `#/site/NAME/station/ADDR`) and
 * refreshes every two seconds from `/api/`.
 */

export const FLEET_PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>iec104 fleet</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="fleet.css">
</head>
<body>
<header><a href="#/" id="home">iec104 fleet</a> <span id="crumbs"></span> <span id="collector"></span></header>
<main id="main"><p>loading…</p></main>
<script src="fleet.js"></script>
</body>
</html>
`;

export const FLEET_PAGE_CSS = `body { font: 14px system-ui, sans-serif; margin: 0; color: #1d2330; background: #f6f7f9; }
header { background: #1d2330; color: #fff; padding: 10px 16px; display: flex; gap: 16px; align-items: baseline; }
header a { color: #fff; font-weight: 600; text-decoration: none; }
#crumbs a { color: #9cc3ff; font-weight: normal; }
#collector { margin-left: auto; font-size: 12px; color: #c9d1e0; }
main { padding: 16px; }
h2 { font-size: 16px; margin: 18px 0 8px; }
table { border-collapse: collapse; background: #fff; min-width: 50%; }
th, td { border-bottom: 1px solid #e3e6eb; padding: 4px 10px; text-align: left; font-variant-numeric: tabular-nums; }
th { background: #eef1f5; font-weight: 600; }
td.num { text-align: right; }
.bad { color: #b3261e; font-weight: 600; }
.ok { color: #1a7f37; }
.stale { color: #9a6700; }
`;

export const FLEET_PAGE_JS = `'use strict';
(function () {
  var main = document.getElementById('main');
  var crumbs = document.getElementById('crumbs');
  var collector = document.getElementById('collector');
  function el(tag, text, cls) {
    var e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = String(text);
    if (cls) e.className = cls;
    return e;
  }
  function link(text, href) {
    var a = el('a', text);
    a.href = href;
    return a;
  }
  function when(ms) {
    return ms ? new Date(ms).toISOString().replace('T', ' ').slice(0, 19) : '';
  }
  function ago(ms) {
    var s = Math.max(0, Math.round((Date.now() - ms) / 1000));
    return s < 120 ? s + ' s ago' : Math.round(s / 60) + ' min ago';
  }
  function table(id, heads, rows) {
    var t = el('table');
    t.id = id;
    var tr = el('tr');
    heads.forEach(function (h) { tr.appendChild(el('th', h)); });
    t.appendChild(tr);
    rows.forEach(function (r) {
      var row = el('tr');
      r.forEach(function (c) {
        if (c instanceof Node) { var td = el('td'); td.appendChild(c); row.appendChild(td); }
        else row.appendChild(el('td', c, typeof c === 'number' ? 'num' : ''));
      });
      t.appendChild(row);
    });
    return t;
  }
  function health(lastSeen, drops) {
    var stale = Date.now() - lastSeen > 60000;
    return el('span', drops > 0 ? 'drops ' + drops : stale ? 'silent ' + ago(lastSeen) : 'ok', drops > 0 ? 'bad' : stale ? 'stale' : 'ok');
  }
  function get(path) {
    return fetch(path, { credentials: 'same-origin' }).then(function (r) { return r.ok ? r.json() : null; });
  }
  function enc(s) { return encodeURIComponent(s); }
  function showSites(sites) {
    crumbs.textContent = '';
    main.textContent = '';
    main.appendChild(el('h2', 'Sites (' + sites.length + ')'));
    main.appendChild(table('sites', ['site', 'sensors', 'stations', 'alerts', 'alert rules', 'commands', 'points', 'messages', 'last seen'], sites.map(function (s) {
      return [link(s.site, '#/site/' + enc(s.site)), s.sensors, s.stations, s.alerts, s.alertRows, s.commands, s.points, s.messages, ago(s.lastSeen)];
    })));
  }
  function showSite(s) {
    crumbs.textContent = '';
    crumbs.appendChild(el('span', '› '));
    crumbs.appendChild(link(s.site, '#/site/' + enc(s.site)));
    main.textContent = '';
    main.appendChild(el('h2', 'Stations'));
    main.appendChild(table('stations', ['station', 'CAs', 'points', 'alerts', 'commands', 'last seen'], s.stationRows.map(function (x) {
      return [link(x.station, '#/site/' + enc(s.site) + '/station/' + enc(x.station)), x.cas.join(' '), x.points, x.alerts, x.commands, when(x.lastSeen)];
    })));
    main.appendChild(el('h2', 'Sensors'));
    main.appendChild(table('sensors', ['sensor', 'health', 'messages', 'last seq', 'lag ms', 'drops', 'buffered', 'last seen'], s.sensorRows.map(function (x) {
      return [x.sensor, health(x.lastSeen, x.drops), x.messages, x.maxSeq, Math.round(x.lagMs), x.drops, x.bufferDepth, ago(x.lastSeen)];
    })));
    main.appendChild(el('h2', 'Alerts'));
    main.appendChild(alertTable(s.alertRows));
  }
  function alertTable(rows) {
    return table('alerts', ['rule', 'severity', 'count', 'flow', 'first', 'last', 'message'], rows.map(function (a) {
      return [a.rule, el('span', a.severity, a.severity === 'high' || a.severity === 'critical' ? 'bad' : ''), a.count, a.flow, when(a.firstSeen), when(a.lastSeen), a.message];
    }));
  }
  function showStation(site, st) {
    crumbs.textContent = '';
    crumbs.appendChild(el('span', '› '));
    crumbs.appendChild(link(site, '#/site/' + enc(site)));
    crumbs.appendChild(el('span', ' › ' + st.station));
    main.textContent = '';
    main.appendChild(el('h2', 'Points (' + st.pointValues.length + ')'));
    main.appendChild(table('points', ['CA', 'IOA', 'type', 'value', 'quality', 'time'], st.pointValues.map(function (p) {
      return [p.ca, p.ioa, p.type, p.value, p.quality, when(p.ts)];
    })));
    main.appendChild(el('h2', 'Alerts'));
    main.appendChild(alertTable(st.alertRows));
    main.appendChild(el('h2', 'Commands'));
    main.appendChild(table('commands', ['time', 'master', 'CA', 'IOA', 'type', 'value', 'outcome', 'ACT_CON ms', 'ACT_TERM ms'], st.commandRows.map(function (c) {
      return [when(c.ts), c.master, c.ca, c.ioa, c.type, c.value, el('span', c.outcome, c.outcome === 'confirmed' || c.outcome === 'terminated' ? 'ok' : 'bad'), c.conLatencyMs, c.termLatencyMs];
    })));
  }
  function render() {
    var parts = location.hash.replace(/^#\\/?/, '').split('/').map(decodeURIComponent);
    var done;
    if (parts[0] === 'site' && parts[2] === 'station') done = get('/api/sites/' + enc(parts[1]) + '/stations/' + enc(parts[3])).then(function (st) { if (st) showStation(parts[1], st); else main.textContent = 'no such station'; });
    else if (parts[0] === 'site') done = get('/api/sites/' + enc(parts[1])).then(function (s) { if (s) showSite(s); else main.textContent = 'no such site'; });
    else done = get('/api/sites').then(function (s) { showSites(s || []); });
    get('/api/collector').then(function (c) {
      collector.textContent = c ? 'received ' + c.received + ' · stored ' + c.stored + ' · duplicates ' + c.duplicates + ' · bad ' + c.bad + ' · lag p99 ' + c.lag.p99 + ' ms' : '';
    });
    return done;
  }
  window.addEventListener('hashchange', render);
  render();
  setInterval(render, 2000);
})();
`;
