/* mllm-audit report page: renders figures and the probe gallery from the JSON data block.
 * Every string that came from a model, a probe set or the database is inserted with
 * textContent (never innerHTML), so it is shown as text and cannot run. */
(function () {
  "use strict";
  var DATA = JSON.parse(document.getElementById("report-data").textContent);
  var CONFIG = { responsive: true, displaylogo: false };

  Object.keys(DATA.figures || {}).forEach(function (id) {
    var el = document.getElementById(id);
    if (el) { Plotly.newPlot(el, DATA.figures[id].data, DATA.figures[id].layout, CONFIG); }
  });

  var G = DATA.gallery;
  var listBody = document.querySelector("#probe-list tbody");
  var viewer = document.getElementById("viewer");
  var slider = document.getElementById("token-slider");
  if (!G || !viewer) { return; }
  if (!G.probes.length) {
    document.getElementById("probe-title").textContent = "No probes with results.";
    return;
  }
  var nCols = G.columns.length;
  var decoded = {};

  function bytesOf(side, method) {
    var key = side + "|" + method;
    if (!decoded[key]) {
      var raw = atob(G.probes[state.probe][side].maps[method].d);
      var out = new Uint8Array(raw.length);
      for (var i = 0; i < raw.length; i++) { out[i] = raw.charCodeAt(i); }
      decoded[key] = out;
    }
    return decoded[key];
  }

  /* The map of token `t` for one side and method, as rows of values in [0, 1], or null. */
  function grid(side, method, t) {
    var s = G.probes[state.probe][side];
    if (!s || t < 0 || !s.maps[method]) { return null; }
    var m = s.maps[method];
    var k = m.t.indexOf(t);
    if (k < 0) { return null; }
    var h = m.s[0], w = m.s[1], bytes = bytesOf(side, method), rows = [];
    for (var r = 0; r < h; r++) {
      var row = new Array(w);
      for (var c = 0; c < w; c++) { row[c] = bytes[k * h * w + r * w + c] / 255; }
      rows.push(row);
    }
    return rows;
  }

  var state = { probe: 0, pos: 0, positions: [] };

  function sideKey(col) { return col === 0 ? "c" : "b"; }

  function tokenFor(col) {
    var p = G.probes[state.probe];
    var t = state.positions[state.pos];
    if (t === undefined) { return -1; }
    if (col === 0) { return t; }
    if (!p.b) { return -1; }
    if (p.pair) { return t < p.pair.length ? p.pair[t] : -1; }
    return -1;
  }

  function heatUpdate() {
    var p = G.probes[state.probe], img = G.images[p.img];
    var z = [], x0 = [], dx = [], y0 = [], dy = [], idx = [];
    G.methods.forEach(function (method, r) {
      for (var col = 0; col < nCols; col++) {
        var side = sideKey(col);
        var g = grid(side, method, tokenFor(col));
        var shape = (p[side] && p[side].maps[method]) ? p[side].maps[method].s : [1, 1];
        var cw = img.w / shape[1], ch = img.h / shape[0];
        z.push(g || [[null]]);
        x0.push(-0.5 + cw / 2); dx.push(cw); y0.push(-0.5 + ch / 2); dy.push(ch);
        idx.push(2 * (r * nCols + col) + 1);
      }
    });
    return { z: z, x0: x0, dx: dx, y0: y0, dy: dy, idx: idx };
  }

  function renderAnswer(el, side, current) {
    el.textContent = "";
    var p = G.probes[state.probe];
    if (!p[side]) {
      var none = document.createElement("span");
      none.className = "muted";
      none.textContent = "(no baseline result for this probe)";
      el.appendChild(none);
      return;
    }
    p[side].tokens.forEach(function (tok, i) {
      var span = document.createElement("span");
      span.className = "tok" + (i === current ? " current" : "");
      span.textContent = tok;
      el.appendChild(span);
    });
  }

  function updateText() {
    var p = G.probes[state.probe];
    var t = state.positions[state.pos];
    var label = document.getElementById("token-label");
    if (t === undefined) {
      label.textContent = "no maps for this probe";
    } else {
      var tb = tokenFor(1);
      var text = "token " + (state.pos + 1) + "/" + state.positions.length + ": \u201c" +
        (p.c.tokens[t] || "") + "\u201d";
      if (nCols > 1) {
        text += tb >= 0 ? "  (baseline token \u201c" + (p.b.tokens[tb] || "") + "\u201d)"
          : "  (the baseline did not generate this word)";
      }
      label.textContent = text;
    }
    renderAnswer(document.getElementById("answer-cand"), "c", t);
    var baseRow = document.getElementById("answer-base-row");
    if (nCols > 1) { renderAnswer(document.getElementById("answer-base"), "b", tokenFor(1)); }
    else if (baseRow) { baseRow.style.display = "none"; }
  }

  function setToken(pos) {
    state.pos = Math.max(0, Math.min(pos, Math.max(0, state.positions.length - 1)));
    var u = heatUpdate();
    Plotly.restyle(viewer, { z: u.z }, u.idx);
    updateText();
  }

  function pill(verdict) {
    var span = document.createElement("span");
    span.className = "pill verdict-" + verdict;
    span.textContent = verdict;
    return span;
  }

  function fmt(v, signed) {
    if (v === null || v === undefined) { return "\u2013"; }
    return ((signed && v >= 0) ? "+" : "") + v.toFixed(3).replace("-", "\u2212");
  }

  /* Row: [method, metric, candidate, baseline, flag verdict or null, map similarity or null]. */
  function probeMetrics(p) {
    var tbl = document.getElementById("probe-metrics");
    tbl.textContent = "";
    if (!p.rows.length) { return; }
    var head = tbl.insertRow();
    var labels = ["method", "metric", "candidate"].concat(nCols > 1 ? ["baseline", "change", "flagged"] : []);
    labels.forEach(function (h) { var th = document.createElement("th"); th.textContent = h; head.appendChild(th); });
    p.rows.forEach(function (row) {
      var tr = tbl.insertRow();
      if (row[5] !== null && row[5] !== undefined) {
        [row[0], row[1], "\u2013", "\u2013", "maps agree " + fmt(row[5])].forEach(function (c) {
          tr.insertCell().textContent = c;
        });
      } else {
        var cells = [row[0], row[1], fmt(row[2])];
        if (nCols > 1) {
          cells.push(fmt(row[3]));
          cells.push(row[2] !== null && row[3] !== null ? fmt(row[2] - row[3], true) : "\u2013");
        }
        cells.forEach(function (c) { tr.insertCell().textContent = c; });
      }
      if (nCols > 1) {
        var flag = tr.insertCell();
        if (row[4]) { flag.appendChild(pill(row[4])); tr.className = "flagged"; }
      }
    });
  }

  /* The two or three changes that matter, named under the probe's title. */
  function probeChanges(p) {
    var list = document.getElementById("probe-changes");
    list.textContent = "";
    p.top.forEach(function (change) {
      var li = document.createElement("li");
      li.appendChild(pill(change[1]));
      li.appendChild(document.createTextNode(" " + change[0]));
      list.appendChild(li);
    });
    if (p.n_flags > p.top.length) {
      var more = document.createElement("li");
      more.className = "muted";
      more.textContent = (p.n_flags - p.top.length) + " more flagged in the table below";
      list.appendChild(more);
    } else if (!p.top.length && nCols > 1) {
      var none = document.createElement("li");
      none.className = "muted";
      none.textContent = "No change on this probe lies beyond the limit of a check that did not pass.";
      list.appendChild(none);
    }
  }

  function selectProbe(i) {
    state.probe = i;
    decoded = {};
    var p = G.probes[i], img = G.images[p.img];
    var seen = {};
    Object.keys(p.c.maps).forEach(function (m) { p.c.maps[m].t.forEach(function (t) { seen[t] = true; }); });
    state.positions = Object.keys(seen).map(Number).sort(function (a, b) { return a - b; });
    // open on the token whose map changed most between the versions (computed at build time)
    var focus = (p.focus === undefined || p.focus === null) ? -1 : state.positions.indexOf(p.focus);
    state.pos = focus > 0 ? focus : 0;
    slider.max = String(Math.max(0, state.positions.length - 1));
    slider.value = String(state.pos);
    slider.disabled = state.positions.length === 0;

    var data = JSON.parse(JSON.stringify(G.skeleton.data));
    var u = heatUpdate();
    for (var k = 0; k < data.length; k += 2) {
      data[k].source = img.src;
      var j = k / 2;
      data[k + 1].z = u.z[j]; data[k + 1].x0 = u.x0[j]; data[k + 1].dx = u.dx[j];
      data[k + 1].y0 = u.y0[j]; data[k + 1].dy = u.dy[j];
    }
    var layout = JSON.parse(JSON.stringify(G.skeleton.layout));
    for (var a = 1; a <= G.methods.length * nCols; a++) {
      var sfx = a === 1 ? "" : String(a);
      layout["xaxis" + sfx].range = [-0.5, img.w - 0.5];
      layout["yaxis" + sfx].range = [img.h - 0.5, -0.5];
      layout["yaxis" + sfx].autorange = false;
      layout["xaxis" + sfx].autorange = false;
    }
    Plotly.react(viewer, data, layout, CONFIG);

    document.getElementById("probe-title").textContent = "Probe " + p.key;
    document.getElementById("probe-prompt").textContent = p.prompt;
    probeChanges(p);
    probeMetrics(p);
    updateText();
    Array.prototype.forEach.call(listBody.rows, function (row, r) {
      row.className = r === i ? "selected" : "";
    });
  }

  G.probes.forEach(function (p, i) {
    var tr = listBody.insertRow();
    tr.id = "probe-row-" + i;
    var thumb = document.createElement("img");
    thumb.src = G.images[p.img].src;
    thumb.alt = "";
    tr.insertCell().appendChild(thumb);
    var who = tr.insertCell();
    var key = document.createElement("div");
    key.className = "probe-key";
    key.textContent = p.key;
    var answer = document.createElement("div");
    answer.className = "probe-answer";
    answer.textContent = p.c.text;
    who.appendChild(key);
    who.appendChild(answer);
    tr.insertCell().textContent = p.note || "";
    tr.addEventListener("click", function () { selectProbe(i); });
  });

  slider.addEventListener("input", function () { setToken(parseInt(slider.value, 10)); });

  function fromHash() {
    var m = /^#probe=(.+)$/.exec(decodeURIComponent(window.location.hash || ""));
    if (!m) { return false; }
    for (var i = 0; i < G.probes.length; i++) {
      if (G.probes[i].key === m[1]) { selectProbe(i); return true; }
    }
    return false;
  }
  window.addEventListener("hashchange", fromHash);
  if (!fromHash()) { selectProbe(0); }
})();
