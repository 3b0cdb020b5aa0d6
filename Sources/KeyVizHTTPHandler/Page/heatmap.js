'use strict';
(function(){
const $ = (id) => document.getElementById(id);
const UNIT = {reads: 'ops', writes: 'ops', read_bytes: 'bytes', write_bytes: 'bytes'};
const NAME = {reads: 'reads', writes: 'writes', read_bytes: 'read bytes', write_bytes: 'write bytes'};
const BG = [13, 17, 23];
const EVC = {split: '#58a6ff', merge: '#f0883e', add: '#3fb950', remove: '#f85149', reshape: '#d2a8ff'};
const MARGIN = {l: 150, r: 12, t: 10, b: 30};
const STOPS = [[0, 0x2a, 0x12, 0x6b], [0.22, 0x6a, 0x17, 0x8a], [0.45, 0xbc, 0x37, 0x72], [0.68, 0xf1, 0x6f, 0x38], [0.86, 0xfb, 0xb8, 0x3d], [1, 0xfc, 0xff, 0xb0]];
const LUT = new Uint8Array(256 * 3);
for (let i = 0; i < 256; i++) {
  const t = i / 255;
  let k = 0;
  while (k < STOPS.length - 2 && t > STOPS[k + 1][0]) k++;
  const a = STOPS[k], b = STOPS[k + 1], f = (t - a[0]) / (b[0] - a[0]);
  for (let c = 0; c < 3; c++) LUT[i * 3 + c] = Math.round(a[c + 1] + (b[c + 1] - a[c + 1]) * f);
}
const st = {
  series: 'writes', scale: 'log', scope: 'local', marks: [], bright: 1, paused: false, every: 2000, range: 0, hiddenEventNodes: new Set(),
  view: {from: null, to: null, startKey: '', endKey: ''},
  m: null, max: 0, totals: [], seq: 0, fetches: 0, lastURL: '', timer: null, fetchMs: 0,
  plot: {x: 0, y: 0, w: 0, h: 0}, dpr: 1, drag: null, hover: null, highlight: -1, error: null, renders: 0, ready: false,
  advice: [], splitMarks: [],
};

function pad(n, w) { return String(n).padStart(w || 2, '0'); }
function hms(ms) { const d = new Date(ms); return pad(d.getHours()) + ':' + pad(d.getMinutes()) + ':' + pad(d.getSeconds()); }
function mdhm(ms) { const d = new Date(ms); return pad(d.getMonth() + 1) + '-' + pad(d.getDate()) + ' ' + pad(d.getHours()) + ':' + pad(d.getMinutes()); }
function hmsms(ms) { return hms(ms) + '.' + pad(new Date(ms).getMilliseconds(), 3); }
function int(v) { return String(v).replace(/\B(?=(\d{3})+(?!\d))/g, ','); }
function short(v) {
  const a = Math.abs(v);
  for (const [d, s] of [[1e12, 'T'], [1e9, 'G'], [1e6, 'M'], [1e3, 'k']]) if (a >= d) return (v / d).toFixed(a >= d * 100 ? 0 : 1) + s;
  return String(Math.round(v * 10) / 10);
}
function keyText(p, isEnd) { return p === '' ? (isEnd ? '(end)' : '(begin)') : p; }
function rangeText(r) { return '[' + keyText(r.start_preview, false) + ', ' + keyText(r.end_preview, true) + ')'; }
function routesText(r) {
  if (st.m && st.m.scope === 'prometheus') return r.route_count + ' bucket' + (r.route_count > 1 ? 's' : '') + ' (Prometheus, summed over instances)';
  if (r.row_id.startsWith('range:')) return 'cluster: ' + r.route_count + ' node row' + (r.route_count > 1 ? 's' : '') + ' merged by key range';
  if (!r.aggregate) return 'route ' + r.route_ids[0];
  const ids = r.route_ids.slice(0, 12).join(', ');
  const more = r.route_count - Math.min(12, r.route_ids.length);
  return r.route_count + ' routes merged: ' + ids + (more > 0 ? ', … (+' + more + ')' : '');
}
// An event at time t belongs to the first column stamped at or after t (its window holds t),
// placed within that column in proportion to the time since the previous column.
function eventX(t) {
  const m = st.m, P = st.plot, cols = m.column_unix_ms, C = cols.length, cw = P.w / C;
  let j = 0;
  while (j < C && cols[j] < t) j++;
  if (j >= C) return P.x + P.w;
  const prev = j > 0 ? cols[j - 1] : cols[j] - m.step_ms;
  const f = cols[j] > prev ? Math.min(1, Math.max(0, (t - prev) / (cols[j] - prev))) : 1;
  return P.x + (j + f) * cw;
}
function eventLines(e) {
  const side = (rs, n) => rs.map((r) => 'route ' + r.route_id + ' ' + rangeText(r)).join(', ') + (n > rs.length ? ', … (+' + (n - rs.length) + ')' : '');
  return [e.kind + (e.node ? ' on ' + e.node : '') + ' at ' + hmsms(e.unix_ms),
          'before: ' + (side(e.before, e.before_count) || 'no route'), 'after: ' + (side(e.after, e.after_count) || 'no route')];
}
const MARKY = 21, MARKH = 8;   // marker triangles: this far below the plot, this tall
function markAt(x, y) {
  const P = st.plot;
  if (y < P.y + P.h + MARKY - 2 || y > P.y + P.h + MARKY + MARKH + 2) return null;
  let best = null;
  for (const k of st.marks) if (Math.abs(k.x - x) <= 5 && (!best || Math.abs(k.x - x) < Math.abs(best.x - x))) best = k;
  return best;
}
function zoomed() { const v = st.view; return v.from !== null || v.to !== null || v.startKey !== '' || v.endKey !== ''; }
function rowBudget() { return Math.max(8, Math.min(1024, Math.floor(st.plot.h / 2))); }

function norm(v) {
  if (v <= 0 || st.max <= 0) return -1;
  const t = st.scale === 'log' ? Math.log1p(v) / Math.log1p(st.max) : v / st.max;
  return Math.min(255, Math.round(Math.min(1, t * st.bright) * 255));
}

function layout() {
  const box = $('plotbox'), dpr = window.devicePixelRatio || 1;
  const w = box.clientWidth, h = box.clientHeight;
  for (const c of [$('heat'), $('overlay')]) {
    if (c.width !== Math.round(w * dpr) || c.height !== Math.round(h * dpr)) { c.width = Math.round(w * dpr); c.height = Math.round(h * dpr); }
  }
  st.dpr = dpr;
  st.plot = {x: MARGIN.l, y: MARGIN.t, w: Math.max(10, w - MARGIN.l - MARGIN.r), h: Math.max(10, h - MARGIN.t - MARGIN.b)};
}

function prepare() {
  const m = st.m;
  st.max = 0;
  st.totals = m.rows.map((r) => { let s = 0; for (const v of r.values) { s += v; if (v > st.max) st.max = v; } return s; });
}

function draw() {
  layout();
  const c = $('heat'), ctx = c.getContext('2d'), dpr = st.dpr, P = st.plot, m = st.m;
  ctx.setTransform(1, 0, 0, 1, 0, 0);
  ctx.fillStyle = '#0d1117';
  ctx.fillRect(0, 0, c.width, c.height);
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.strokeStyle = '#30363d';
  ctx.strokeRect(P.x - 0.5, P.y - 0.5, P.w + 1, P.h + 1);
  ctx.font = '11px ui-monospace, "DejaVu Sans Mono", monospace';
  if (!m || m.rows.length === 0 || m.column_unix_ms.length === 0) {
    ctx.fillStyle = '#8b949e';
    ctx.textAlign = 'center';
    const failed = m && m.scope === 'prometheus' ? (m.nodes || []).find((n) => !n.ok) : null;
    ctx.fillText(failed ? 'no data from Prometheus: ' + failed.error : m ? 'no columns yet: the first flush comes after one step' : 'loading…', P.x + P.w / 2, P.y + P.h / 2);
    drawLegend();
    st.renders++;
    return;
  }
  const R = m.rows.length, C = m.column_unix_ms.length;
  const px = Math.round(P.x * dpr), py = Math.round(P.y * dpr), pw = Math.round(P.w * dpr), ph = Math.round(P.h * dpr);
  const img = ctx.createImageData(pw, ph), d = img.data;
  const c0 = new Int32Array(pw), c1 = new Int32Array(pw);
  for (let x = 0; x < pw; x++) { c0[x] = Math.floor(x * C / pw); c1[x] = Math.max(c0[x] + 1, Math.floor((x + 1) * C / pw)); }
  const line = new Uint8ClampedArray(pw * 4);
  for (let r = 0; r < R; r++) {
    const y0 = Math.round(r * ph / R), y1 = Math.round((r + 1) * ph / R);
    if (y1 <= y0) continue;
    const vals = m.rows[r].values;
    for (let x = 0; x < pw; x++) {
      let v = 0;
      for (let j = c0[x]; j < c1[x]; j++) if (vals[j] > v) v = vals[j];
      const i = norm(v), o = x * 4;
      if (i < 0) { line[o] = BG[0]; line[o + 1] = BG[1]; line[o + 2] = BG[2]; } else { line[o] = LUT[i * 3]; line[o + 1] = LUT[i * 3 + 1]; line[o + 2] = LUT[i * 3 + 2]; }
      line[o + 3] = 255;
    }
    for (let y = y0; y < y1; y++) d.set(line, y * pw * 4);
  }
  ctx.putImageData(img, px, py);
  // key axis: start keys of rows, spaced so labels do not overlap
  ctx.fillStyle = '#8b949e';
  ctx.textAlign = 'right';
  ctx.textBaseline = 'middle';
  const rh = P.h / R, every = Math.max(1, Math.ceil(16 / rh));
  for (let r = 0; r < R; r += every) {
    let s = keyText(m.rows[r].start_preview, false);
    if (s.length > 19) s = s.slice(0, 18) + '…';
    const y = P.y + r * rh;
    ctx.fillText(s, P.x - 8, Math.max(P.y + 6, y + Math.min(rh, 16) / 2));
    ctx.fillRect(P.x - 4, y, 3, 1);
  }
  // time axis: end of each labelled column
  ctx.textAlign = 'center';
  ctx.textBaseline = 'top';
  const fine = m.step_ms < 1000, cw = P.w / C, days = C * m.step_ms > 86400000;
  const step = Math.max(1, Math.ceil((ctx.measureText(fine ? '00:00:00.0' : days ? '00-00 00:00' : '00:00:00').width + 24) / cw));
  const first = (C - 1) % step;
  let lastRight = -1e9;
  for (let j = first; j < C; j += step) {
    const x = P.x + (j + 1) * cw, t = m.column_unix_ms[j];
    const text = fine ? hms(t) + '.' + Math.floor(new Date(t).getMilliseconds() / 100) : days ? mdhm(t) : hms(t);
    const w = ctx.measureText(text).width, cx = Math.min(x, P.x + P.w - w / 2);
    ctx.fillRect(x - 0.5, P.y + P.h + 1, 1, 4);
    if (cx - w / 2 < lastRight + 8) continue;
    ctx.fillText(text, cx, P.y + P.h + 8);
    lastRight = cx + w / 2;
  }
  drawLegend();
  st.renders++;
}

function drawLegend() {
  const c = $('lbar'), ctx = c.getContext('2d'), img = ctx.createImageData(c.width, c.height);
  for (let x = 0; x < c.width; x++) {
    const i = Math.round(x / (c.width - 1) * 255);
    for (let y = 0; y < c.height; y++) { const o = (y * c.width + x) * 4; img.data[o] = LUT[i * 3]; img.data[o + 1] = LUT[i * 3 + 1]; img.data[o + 2] = LUT[i * 3 + 2]; img.data[o + 3] = 255; }
  }
  ctx.putImageData(img, 0, 0);
  const top = st.max / st.bright;
  $('lmin').textContent = st.scale === 'log' ? '1' : '0';
  $('lmax').textContent = st.max > 0 ? short(st.scale === 'log' ? Math.expm1(Math.log1p(st.max) / st.bright) : top) + ' ' + UNIT[st.series] + (st.bright > 1 ? '+' : '') : '–';
}

function drawOverlay() {
  const c = $('overlay'), ctx = c.getContext('2d'), P = st.plot, m = st.m;
  ctx.setTransform(1, 0, 0, 1, 0, 0);
  ctx.clearRect(0, 0, c.width, c.height);
  ctx.setTransform(st.dpr, 0, 0, st.dpr, 0, 0);
  st.marks = [];
  if (!m || !m.rows.length || !m.column_unix_ms.length) return;
  const R = m.rows.length, C = m.column_unix_ms.length, rh = P.h / R, cw = P.w / C;
  // Route change events: a faint line through the plot and a triangle under the time axis.
  for (const e of shownEvents(m)) {
    const x = eventX(e.unix_ms), col = EVC[e.kind] || '#d2a8ff';
    st.marks.push({x: x, event: e});
    ctx.strokeStyle = col; ctx.globalAlpha = 0.35; ctx.lineWidth = 1; ctx.setLineDash([3, 3]);
    ctx.beginPath(); ctx.moveTo(Math.round(x) + 0.5, P.y); ctx.lineTo(Math.round(x) + 0.5, P.y + P.h); ctx.stroke();
    ctx.setLineDash([]); ctx.globalAlpha = 1; ctx.fillStyle = col;
    const y0 = P.y + P.h + MARKY;
    ctx.beginPath(); ctx.moveTo(x, y0); ctx.lineTo(x - 4, y0 + MARKH); ctx.lineTo(x + 4, y0 + MARKH); ctx.closePath(); ctx.fill();
  }
  // Split advice: on the row holding an advised route, a dashed line over the newest columns
  // and a triangle at the right edge (white: split there; red: one hot key, no split helps).
  st.splitMarks = [];
  for (const a of st.advice) {
    const row = adviceRow(m, a);
    if (row < 0) continue;
    const y = P.y + (row + 0.5) * rh, col = a.verdict === 'split' ? '#ffffff' : '#f85149';
    st.splitMarks.push({row: row, route_id: a.route_id, verdict: a.verdict, key_preview: a.key_preview, y: y});
    ctx.strokeStyle = col; ctx.lineWidth = 1.5; ctx.setLineDash([4, 3]);
    ctx.beginPath(); ctx.moveTo(P.x + P.w * 0.85, Math.round(y) + 0.5); ctx.lineTo(P.x + P.w - 7, Math.round(y) + 0.5); ctx.stroke();
    ctx.setLineDash([]); ctx.fillStyle = col;
    ctx.beginPath(); ctx.moveTo(P.x + P.w - 7, y); ctx.lineTo(P.x + P.w, y - 5); ctx.lineTo(P.x + P.w, y + 5); ctx.closePath(); ctx.fill();
  }
  if (st.highlight >= 0 && st.highlight < R) {
    ctx.strokeStyle = '#58a6ff'; ctx.lineWidth = 2;
    ctx.strokeRect(P.x + 1, P.y + st.highlight * rh, P.w - 2, Math.max(2, rh));
  }
  if (st.hover && !st.drag) {
    ctx.strokeStyle = 'rgba(255,255,255,.9)'; ctx.lineWidth = 1;
    ctx.strokeRect(P.x + st.hover.col * cw - 0.5, P.y + st.hover.row * rh - 0.5, Math.max(1, cw) + 1, Math.max(1, rh) + 1);
  }
  if (st.drag && st.drag.moved) {
    const a = st.drag.a, b = st.drag.b;
    const x0 = Math.min(a.x, b.x), y0 = Math.min(a.y, b.y);
    ctx.fillStyle = 'rgba(88,166,255,.18)'; ctx.strokeStyle = '#58a6ff'; ctx.lineWidth = 1;
    ctx.fillRect(x0, y0, Math.abs(a.x - b.x), Math.abs(a.y - b.y));
    ctx.strokeRect(x0 + 0.5, y0 + 0.5, Math.abs(a.x - b.x), Math.abs(a.y - b.y));
  }
}

// In the cluster view each node's route changes can be hidden (the node list's checkboxes).
function shownEvents(m) {
  return (m.events || []).filter((e) => !(e.node && st.hiddenEventNodes.has(e.node)));
}

function cellAt(x, y) {
  const P = st.plot, m = st.m;
  if (!m || !m.rows.length || !m.column_unix_ms.length) return null;
  if (x < P.x || y < P.y || x >= P.x + P.w || y >= P.y + P.h) return null;
  return {row: Math.min(m.rows.length - 1, Math.floor((y - P.y) / P.h * m.rows.length)),
          col: Math.min(m.column_unix_ms.length - 1, Math.floor((x - P.x) / P.w * m.column_unix_ms.length))};
}

function line(parent, cls, text) { const d = document.createElement('div'); d.className = cls; d.textContent = text; parent.appendChild(d); return d; }

function showTip(cell, x, y) {
  const tip = $('tip'), m = st.m;
  if (!cell) { tip.style.display = 'none'; return; }
  const r = m.rows[cell.row], t = m.column_unix_ms[cell.col], v = r.values[cell.col];
  tip.textContent = '';
  line(tip, 't', routesText(r)).dataset.k = 'routes';
  line(tip, 'k', rangeText(r)).dataset.k = 'keys';
  line(tip, '', hmsms(t - m.step_ms) + ' – ' + hmsms(t)).dataset.k = 'time';
  line(tip, 'v', int(v) + ' ' + UNIT[st.series]).dataset.k = 'value';
  line(tip, '', NAME[st.series] + ', ' + short(v / (m.step_ms / 1000)) + ' ' + UNIT[st.series] + '/s; row total ' + int(st.totals[cell.row])).dataset.k = 'rate';
  const lo = cell.col > 0 ? m.column_unix_ms[cell.col - 1] : t - m.step_ms;
  const inCol = shownEvents(m).filter((e) => e.unix_ms > lo && e.unix_ms <= t);
  if (inCol.length) line(tip, '', inCol.length + ' route change' + (inCol.length > 1 ? 's' : '') + ' in this column: ' + inCol.map((e) => e.kind).join(', ')).dataset.k = 'events';
  placeTip(tip, x, y);
  if (m.scope === 'cluster') loadBreakdown(cell, x, y);
}

// In the cluster view a cell's per-node breakdown: the same cell asked again (one row, that
// column's window, that row's keys), whose nodes[].total is each node's part. Asked once the
// pointer rests on a cell, never more than one at a time.
function loadBreakdown(cell, x, y) {
  clearTimeout(st.breakdownTimer);
  const m = st.m, r = m.rows[cell.row], t = m.column_unix_ms[cell.col], seq = st.seq;
  st.breakdownTimer = setTimeout(async () => {
    const q = new URLSearchParams({series: st.series, scope: 'cluster', rows: '1',
      from_unix_ms: String(Math.max(0, t - m.step_ms + 1)), to_unix_ms: String(t + 1)});
    if (r.start) q.set('start_key', r.start);
    if (r.end) q.set('end_key', r.end);
    try {
      const resp = await fetch(location.origin + '/api/v1/keyviz/matrix?' + q.toString(), {credentials: 'same-origin', cache: 'no-store'});
      if (!resp.ok) return;
      const b = await resp.json();
      if (!st.hover || st.hover.row !== cell.row || st.hover.col !== cell.col || st.seq !== seq) return;
      const tip = $('tip');
      const parts = (b.nodes || []).filter((n) => !n.duplicate_of).map((n) =>
        n.node + ': ' + (n.total === null || n.total === undefined ? 'missing' : int(n.total) + (n.stale ? ' (its last answer)' : '')));
      line(tip, '', 'per node: ' + parts.join(' · ')).dataset.k = 'nodes';
      placeTip(tip, x, y);
    } catch (_) { /* the breakdown is optional */ }
  }, 250);
}

function showEventTip(mark, x, y) {
  const tip = $('tip');
  tip.textContent = '';
  eventLines(mark.event).forEach((text, i) => { line(tip, i === 0 ? 't' : 'k', text).dataset.k = ['event', 'before', 'after'][i]; });
  placeTip(tip, x, y);
}

function placeTip(tip, x, y) {
  tip.style.display = 'block';
  const box = $('plotbox'), w = tip.offsetWidth, h = tip.offsetHeight;
  tip.style.left = Math.min(box.clientWidth - w - 4, x + 14) + 'px';
  tip.style.top = Math.min(box.clientHeight - h - 4, y + 14) + 'px';
}

function renderTable() {
  const body = $('top'), m = st.m;
  body.textContent = '';
  if (!m) return;
  const sum = st.totals.reduce((a, b) => a + b, 0);
  const order = st.totals.map((t, i) => i).filter((i) => st.totals[i] > 0).sort((a, b) => st.totals[b] - st.totals[a] || a - b).slice(0, 10);
  order.forEach((i, rank) => {
    const r = m.rows[i], tr = document.createElement('tr');
    const td = (cls, text) => { const c = document.createElement('td'); c.className = cls; c.textContent = text; tr.appendChild(c); return c; };
    td('', String(rank + 1));
    const k = td('k', rangeText(r));
    line(k, '', routesText(r)).style.color = '#8b949e';
    for (const a of st.advice) {
      if (adviceRow(m, a) !== i) continue;
      const text = a.verdict === 'split'
        ? '✂ split at ' + a.key_preview + (a.truncated ? '…' : '') + ' (' + Math.round(100 * a.left_share) + '|' + Math.round(100 - 100 * a.left_share) + '%)'
        : '● one hot key ' + a.key_preview + (a.truncated ? '…' : '');
      const d = line(k, 'advice', text);
      d.style.color = a.verdict === 'split' ? '#e6edf3' : '#f85149';
      d.title = a.verdict === 'split'
        ? 'split advice for route ' + a.route_id + ': ' + a.op + 's ' + Math.round(100 * a.left_share) + '% below the key, ' + Math.round(100 - 100 * a.left_share) + '% from it on (±' + Math.round(100 * a.left_share_error_bound) + '), from ' + a.samples + ' sampled keys; advice only, the coordinator decides'
        : 'one key carries so much of route ' + a.route_id + ' that no split spreads it (' + a.samples + ' sampled keys)';
    }
    td('n', short(st.totals[i]));
    td('n', (sum > 0 ? (100 * st.totals[i] / sum).toFixed(1) : '0') + '%');
    line(k, 'bar', '').style.width = Math.max(1, sum > 0 ? 100 * st.totals[i] / st.totals[order[0]] : 0) + '%';
    tr.dataset.row = String(i);
    tr.title = 'zoom into this key range';
    tr.addEventListener('mouseenter', () => { st.highlight = i; drawOverlay(); });
    tr.addEventListener('mouseleave', () => { st.highlight = -1; drawOverlay(); });
    tr.addEventListener('click', () => zoomTo(null, null, r.start, r.end));
    body.appendChild(tr);
  });
}

// Cluster answers list every node asked; a failed peer is shown with its error.
function renderNodes() {
  const box = $('nodesbox'), list = $('nodes'), nodes = (st.m && st.m.nodes) || [];
  box.hidden = nodes.length === 0;
  $('nodestitle').textContent = st.m && st.m.scope === 'prometheus' ? 'Prometheus' : 'Cluster nodes';
  list.textContent = '';
  for (const n of nodes) {
    const text = n.duplicate_of ? ': the same node as ' + n.duplicate_of + ' (counted once)'
      : n.ok ? ': ' + n.columns + ' columns'
      : ': failed, ' + n.error + (n.stale ? ' (showing its answer from ' + hms(n.last_ok_unix_ms) + ')' : '');
    const d = line(list, n.duplicate_of ? 'dup' : n.ok ? '' : 'bad', n.node + text);
    d.dataset.node = n.node;
    d.dataset.ok = String(n.ok);
    if (st.m.scope === 'cluster' && !n.duplicate_of) {
      const box = document.createElement('input');
      box.type = 'checkbox';
      box.checked = !st.hiddenEventNodes.has(n.node);
      box.title = 'show this node\'s route changes under the time axis';
      box.dataset.events = n.node;
      box.addEventListener('change', () => {
        if (box.checked) st.hiddenEventNodes.delete(n.node); else st.hiddenEventNodes.add(n.node);
        drawOverlay();
      });
      d.prepend(box);
    }
  }
  // Missing nodes are loud: a banner says whose counts the view lacks, and since when.
  const missing = st.m && st.m.scope === 'cluster' ? nodes.filter((n) => !n.ok && !n.duplicate_of) : [];
  const banner = $('missing');
  const promFailed = st.m && st.m.scope === 'prometheus' ? nodes.filter((n) => !n.ok) : [];
  if (promFailed.length) {
    banner.hidden = false;
    banner.textContent = 'The Prometheus view has no data: ' + promFailed[0].node + ' answered: ' + promFailed[0].error + '.';
    banner.dataset.missing = promFailed[0].node;
    return;
  }
  banner.hidden = missing.length === 0;
  banner.textContent = missing.length === 0 ? '' : 'Missing from the cluster view: ' + missing.map((n) =>
    n.node + (n.missing_since_unix_ms ? ' since ' + hms(n.missing_since_unix_ms) : '') +
    (n.stale ? ' (its last answer, from ' + hms(n.last_ok_unix_ms) + ', is shown; later columns lack its counts)'
      : n.last_ok_unix_ms ? ' (last answered ' + hms(n.last_ok_unix_ms) + '; its counts are not shown)' : ' (never answered; its counts are not shown)')).join('; ') + '.';
  banner.dataset.missing = missing.map((n) => n.node).join(',');
}

function setStatus() {
  const s = $('status'), m = st.m;
  const mode = $('mode');
  mode.className = st.paused ? 'paused' : zoomed() && st.view.to !== null ? 'zoomed' : '';
  mode.textContent = st.paused ? 'PAUSED' : st.view.to !== null ? 'ZOOMED' : 'LIVE';
  $('reset').disabled = !zoomed();
  $('pause').textContent = st.paused ? 'Resume' : 'Pause';
  if (st.error) { s.className = 'err'; s.textContent = 'error: ' + st.error + (m ? ' (showing the last good view)' : ''); return; }
  s.className = '';
  if (!m) { s.textContent = 'loading…'; return; }
  const routes = m.rows.reduce((a, r) => a + r.route_count, 0);
  const C = m.column_unix_ms.length;
  const span = C ? hms(m.column_unix_ms[0] - m.step_ms) + ' – ' + hms(m.column_unix_ms[C - 1]) : 'no columns';
  const unrouted = m.unrouted.reduce((a, b) => a + b, 0);
  const failed = (m.nodes || []).filter((n) => !n.ok), distinct = (m.nodes || []).filter((n) => !n.duplicate_of);
  const where = m.scope === 'cluster' ? 'cluster of ' + (distinct.length - failed.length) + '/' + distinct.length + ' nodes' + (failed.length ? ' (failed: ' + failed.map((n) => n.node).join(', ') + ')' : '') + ' · '
    : m.scope === 'prometheus' ? 'from ' + m.nodes[0].node + (failed.length ? ' (failed: ' + failed[0].error + ')' : '') + ' · ' : '';
  s.textContent = where + NAME[m.series] + ' · ' + routes + (m.scope === 'cluster' ? ' node routes in ' : m.scope === 'prometheus' ? ' buckets in ' : ' routes in ') + m.rows.length + ' rows · ' + C + ' columns of ' + (m.step_ms / 1000) + ' s (' + span + ')' +
    (unrouted ? ' · unrouted ' + int(unrouted) : '') + (zoomed() ? ' · zoomed' : '') + ' · updated ' + hms(Date.now()) +
    (delay() > st.every ? ' · refresh every ' + (delay() / 1000).toFixed(1) + ' s (the node took ' + Math.round(st.fetchMs) + ' ms)' : '');
}

// An open tab must not load the node much: no refresh while the tab is hidden, and the
// interval stretches to 4 × the last fetch's time when the node answers slowly.
function delay() { return Math.max(st.every, 4 * st.fetchMs); }

function schedule() {
  clearTimeout(st.timer);
  if (!st.paused && st.view.to === null && !document.hidden) st.timer = setTimeout(load, delay());
}

// The view lives in the URL's fragment, so a reload or a shared link shows the same view.
function saveHash() {
  const v = st.view, q = new URLSearchParams({series: st.series, scale: st.scale});
  if (st.scope !== 'local') q.set('scope', st.scope);
  if ($('bright').value !== '0') q.set('bright', $('bright').value);
  if (v.from !== null) q.set('from', String(v.from));
  if (v.to !== null) q.set('to', String(v.to));
  if (st.range > 0) q.set('range', String(st.range));
  if (v.startKey) q.set('start_key', v.startKey);
  if (v.endKey) q.set('end_key', v.endKey);
  if (st.paused) q.set('paused', '1');
  history.replaceState(null, '', '#' + q.toString());
}

function loadHash() {
  const q = new URLSearchParams(location.hash.slice(1)), num = (k) => /^[0-9]+$/.test(q.get(k) || '') ? Number(q.get(k)) : null;
  if (UNIT[q.get('series')]) st.series = q.get('series');
  st.scope = ['cluster', 'prometheus'].includes(q.get('scope')) ? q.get('scope') : 'local';
  if (q.get('scale') === 'linear' || q.get('scale') === 'log') st.scale = q.get('scale');
  const b = Number(q.get('bright'));
  if (q.has('bright') && b >= -3 && b <= 3) { $('bright').value = String(b); st.bright = Math.pow(2, b); }
  st.view = {from: num('from'), to: num('to'), startKey: q.get('start_key') || '', endKey: q.get('end_key') || ''};
  if ([...$('range').options].some((o) => o.value === q.get('range'))) { st.range = Number(q.get('range')); $('range').value = q.get('range'); }
  st.paused = q.get('paused') === '1';
}

// The hottest keys of the series' op across the node's hot routes (sampled, estimated).
async function loadHotKeys() {
  const op = st.series.startsWith('read') ? 'read' : 'write';
  try {
    // In the cluster view the panel merges every node's keys; otherwise it is this node's, and says so.
    const cluster = st.scope === 'cluster';
    const resp = await fetch(location.origin + '/api/v1/keyviz/hot-keys?op=' + op + (cluster ? '&scope=cluster' : ''), {credentials: 'same-origin', cache: 'no-store'});
    if (!resp.ok) return;
    const h = await resp.json();
    const box = $('hotkeysbox'), body = $('hotkeys');
    box.hidden = !(h.sample_every > 0);
    const counted = (h.nodes || []).filter((n) => n.ok && !n.duplicate_of).length;
    $('hotkeystitle').textContent = h.scope === 'cluster' ? 'Hot keys · cluster (' + counted + ' node' + (counted === 1 ? '' : 's') + ')' : 'Hot keys · this node';
    body.textContent = '';
    h.keys.slice(0, 10).forEach((k, i) => {
      const tr = document.createElement('tr');
      const td = (cls, text) => { const c = document.createElement('td'); c.className = cls; c.textContent = text; tr.appendChild(c); return c; };
      td('', String(i + 1));
      td('k', k.key_preview + (k.truncated ? '…' : ''));
      td('n', String(k.route_id));
      td('n', '~' + (100 * k.share).toFixed(0) + '%' + (k.share_error_bound > 0 ? ' ±' + (100 * k.share_error_bound).toFixed(0) : ''));
      tr.title = '~' + int(k.estimated_operations) + ' ' + k.op + 's of route ' + k.route_id + ' (sampled 1 in ' + h.sample_every + ')';
      body.appendChild(tr);
    });
    $('hotkeysnote').textContent = 'Share of its route\'s ' + op + 's, sampled 1 in ' + h.sample_every + '.';
  } catch (_) { /* hot keys are optional */ }
}

// The row holding an advised route (rows list their routes), or -1.
function adviceRow(m, a) {
  if (!m || m.scope === 'cluster' || m.scope === 'prometheus') return -1;
  return m.rows.findIndex((r) => r.route_ids && r.route_ids.includes(a.route_id));
}

// Where to split the hottest routes of the series' op: this node's advice (route ids are a
// node's own, so only in the local view).
async function loadSplitAdvice() {
  const op = st.series.startsWith('read') ? 'read' : 'write';
  if (st.scope !== 'local') { st.advice = []; return; }
  try {
    const resp = await fetch(location.origin + '/api/v1/keyviz/split-advice?op=' + op, {credentials: 'same-origin', cache: 'no-store'});
    if (!resp.ok) return;
    const a = await resp.json();
    st.advice = a.advice.filter((v) => v.verdict !== 'too_few_samples');
    drawOverlay(); renderTable();
  } catch (_) { /* advice is optional */ }
}

async function load() {
  clearTimeout(st.timer);
  layout();
  saveHash();
  const seq = ++st.seq, v = st.view;
  const q = new URLSearchParams({series: st.series, rows: String(rowBudget())});
  if (st.scope !== 'local') q.set('scope', st.scope);
  // A range asks for the time since now - range, in columns about 1/1500 of the span wide:
  // the node answers from the finest history tier that is that wide and holds the range.
  const now = Date.now(), from = v.from !== null ? v.from : st.range > 0 ? now - st.range : null;
  if (from !== null) q.set('from_unix_ms', String(from));
  if (v.to !== null) q.set('to_unix_ms', String(v.to));
  if (v.startKey) q.set('start_key', v.startKey);
  if (v.endKey) q.set('end_key', v.endKey);
  if (st.range > 0) q.set('resolution_ms', String(Math.max(1, Math.floor(((v.to !== null ? v.to : now) - from) / 1500))));
  const url = '/api/v1/keyviz/matrix?' + q.toString();
  st.lastURL = url;
  st.fetches++;
  const started = performance.now();
  try {
    const resp = await fetch(location.origin + url, {credentials: 'same-origin', cache: 'no-store', headers: {Accept: 'application/json'}});
    if (!resp.ok) {
      let msg = 'HTTP ' + resp.status;
      try { const e = await resp.json(); if (e && e.message) msg += ': ' + e.message; } catch (_) { /* not JSON */ }
      throw new Error(msg);
    }
    const m = await resp.json();
    if (seq !== st.seq) return;
    st.fetchMs = performance.now() - started;
    st.m = m; st.error = null; st.hover = null; $('tip').style.display = 'none';
    prepare(); draw(); drawOverlay(); renderTable(); renderNodes(); loadHotKeys(); loadSplitAdvice();
    st.ready = true;
  } catch (e) {
    if (seq !== st.seq) return;
    st.error = String((e && e.message) || e);
  } finally {
    if (seq === st.seq) { setStatus(); schedule(); }
  }
}

function zoomTo(from, to, startKey, endKey) {
  const v = st.view;
  if (from !== null) { v.from = from; v.to = to; }
  if (startKey !== null) { v.startKey = startKey; v.endKey = endKey; }
  load();
}

function finishDrag(d) {
  const m = st.m, P = st.plot;
  const R = m.rows.length, C = m.column_unix_ms.length;
  const clampX = (x) => Math.min(P.x + P.w - 0.01, Math.max(P.x, x)), clampY = (y) => Math.min(P.y + P.h - 0.01, Math.max(P.y, y));
  const xa = clampX(Math.min(d.a.x, d.b.x)), xb = clampX(Math.max(d.a.x, d.b.x));
  const ya = clampY(Math.min(d.a.y, d.b.y)), yb = clampY(Math.max(d.a.y, d.b.y));
  const j0 = Math.floor((xa - P.x) / P.w * C), j1 = Math.floor((xb - P.x) / P.w * C);
  const r0 = Math.floor((ya - P.y) / P.h * R), r1 = Math.floor((yb - P.y) / P.h * R);
  const wide = xb - xa >= 4, tall = yb - ya >= 4;
  if (!wide && !tall) return;
  const time = wide ? [m.column_unix_ms[j0], m.column_unix_ms[j1] + 1] : [null, null];
  const keys = tall ? [m.rows[r0].start, m.rows[r1].end] : [null, null];
  zoomTo(time[0], time[1], keys[0], keys[1]);
}

function pos(e) { const b = $('overlay').getBoundingClientRect(); return {x: e.clientX - b.left, y: e.clientY - b.top}; }

function wire() {
  const ov = $('overlay');
  ov.addEventListener('mousedown', (e) => {
    if (e.button !== 0) return;
    const p = pos(e);
    if (!cellAt(p.x, p.y)) return;
    st.drag = {a: p, b: p, moved: false};
    e.preventDefault();
  });
  window.addEventListener('mousemove', (e) => {
    const p = pos(e);
    if (st.drag) {
      st.drag.b = p;
      st.drag.moved = st.drag.moved || Math.abs(p.x - st.drag.a.x) + Math.abs(p.y - st.drag.a.y) > 3;
      $('tip').style.display = 'none';
      drawOverlay();
      return;
    }
    if (e.target !== ov) return;
    const mark = markAt(p.x, p.y);
    if (mark) { st.hover = null; showEventTip(mark, p.x, p.y); drawOverlay(); return; }
    const cell = cellAt(p.x, p.y);
    st.hover = cell;
    showTip(cell, p.x, p.y);
    drawOverlay();
  });
  window.addEventListener('mouseup', (e) => {
    const d = st.drag;
    if (!d) return;
    st.drag = null;
    d.b = pos(e);
    drawOverlay();
    if (d.moved && st.m) finishDrag(d);
  });
  window.addEventListener('keydown', (e) => { if (e.key === 'Escape' && st.drag) { st.drag = null; drawOverlay(); } });
  ov.addEventListener('mouseleave', () => { st.hover = null; $('tip').style.display = 'none'; drawOverlay(); });
  ov.addEventListener('dblclick', () => { st.view = {from: null, to: null, startKey: '', endKey: ''}; load(); });
  $('reset').addEventListener('click', () => { st.view = {from: null, to: null, startKey: '', endKey: ''}; load(); });
  for (const [id, key] of [['series', 'series'], ['scale', 'scale'], ['scope', 'scope']]) {
    for (const b of $(id).querySelectorAll('button')) {
      b.addEventListener('click', () => {
        st[key] = b.dataset.v;
        syncButtons();
        if (key !== 'scale') load(); else { saveHash(); draw(); drawOverlay(); }
      });
    }
  }
  $('bright').addEventListener('input', () => { st.bright = Math.pow(2, Number($('bright').value)); showBright(); saveHash(); draw(); drawOverlay(); });
  $('pause').addEventListener('click', () => { st.paused = !st.paused; saveHash(); setStatus(); if (st.paused) clearTimeout(st.timer); else load(); });
  $('every').addEventListener('change', () => { st.every = Number($('every').value); schedule(); });
  $('range').addEventListener('change', () => { st.range = Number($('range').value); st.view.from = null; st.view.to = null; load(); });
  $('png').addEventListener('click', downloadPNG);
  document.addEventListener('visibilitychange', () => { if (!document.hidden && !st.paused && st.view.to === null) load(); });
  let pending = 0;
  window.addEventListener('resize', () => { cancelAnimationFrame(pending); pending = requestAnimationFrame(() => { draw(); drawOverlay(); }); });
}

function showBright() {
  $('brightv').textContent = '×' + (st.bright >= 1 ? st.bright.toFixed(st.bright % 1 ? 1 : 0) : st.bright.toFixed(2));
}

function syncButtons() {
  for (const b of $('series').querySelectorAll('button')) b.classList.toggle('on', b.dataset.v === st.series);
  for (const b of $('scale').querySelectorAll('button')) b.classList.toggle('on', b.dataset.v === st.scale);
  for (const b of $('scope').querySelectorAll('button')) b.classList.toggle('on', b.dataset.v === st.scope);
}

function downloadPNG() {
  const src = $('heat'), dpr = st.dpr, head = Math.round(28 * dpr);
  const out = document.createElement('canvas');
  out.width = src.width; out.height = src.height + head;
  const ctx = out.getContext('2d');
  ctx.fillStyle = '#0d1117'; ctx.fillRect(0, 0, out.width, out.height);
  ctx.drawImage(src, 0, head);
  ctx.scale(dpr, dpr);
  ctx.fillStyle = '#e6edf3'; ctx.font = '13px system-ui, sans-serif'; ctx.textBaseline = 'middle';
  ctx.fillText('KeyViz · ' + location.host + ' · ' + NAME[st.series] + ' (' + st.scale + ') · ' + $('status').textContent, 12, 14);
  out.toBlob((blob) => {
    if (!blob) return;
    const a = document.createElement('a');
    a.href = URL.createObjectURL(blob);
    const m = st.m, last = m && m.column_unix_ms.length ? m.column_unix_ms[m.column_unix_ms.length - 1] : Date.now();
    a.download = 'keyviz-' + st.series + '-' + new Date(last).toISOString().replace(/[:.]/g, '-') + '.png';
    document.body.appendChild(a); a.click(); a.remove();
    setTimeout(() => URL.revokeObjectURL(a.href), 10000);
  }, 'image/png');
}

window.keyviz = {state: st, load: load, cellAt: cellAt, eventX: eventX};
loadHash();
wire();
syncButtons();
showBright();
setStatus();
load();
})();
