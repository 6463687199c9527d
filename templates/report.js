/* The three attention views (head, model, neuron), in plain JavaScript.
   Data: the trace's numbers, embedded as JSON in #views-data. Nothing is fetched. */
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("views-data").textContent);
  var kinds = data.kinds;
  var NS = "http://www.w3.org/2000/svg";
  var COLOURS = ["#1f6fb4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf",
                 "#8c564b", "#e377c2"];
  var state = { kind: 0, layer: 0, head: 0, query: 0 };  /* head -1: all heads */

  function byId(id) { return document.getElementById(id); }

  function el(tag, attrs, parent, svg) {
    var node = svg ? document.createElementNS(NS, tag) : document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (key) {
      if (key === "text") { node.textContent = attrs[key]; }
      else { node.setAttribute(key, attrs[key]); }
    });
    if (parent) { parent.appendChild(node); }
    return node;
  }
  function svgEl(tag, attrs, parent) { return el(tag, attrs, parent, true); }

  function fmt(x) {
    if (x === null) { return "\u2212\u221e"; }
    if (x === 0) { return "0"; }
    var a = Math.abs(x);
    var s = (a < 1e-3 || a >= 1e4) ? x.toExponential(1) : x.toFixed(3);
    return s.replace("-", "\u2212");
  }

  function diverging(x, largest) {
    var t = largest ? Math.max(-1, Math.min(1, x / largest)) : 0;
    var end = t > 0 ? [192, 57, 43] : [33, 102, 172];
    var a = Math.abs(t);
    var rgb = end.map(function (c) { return Math.round(255 + (c - 255) * a); });
    return "rgb(" + rgb.join(",") + ")";
  }

  function current() {
    var k = kinds[state.kind];
    return { k: k, L: k.layers[state.layer] };
  }

  /* Query and key vectors of a float32 trace come packed: little-endian float32
     bytes in base64, {float32, shape}; unpacked once, on first use. */
  function unpack(x) {
    if (!x || !x.float32) { return x; }
    if (!x.rows) {
      var bin = atob(x.float32);
      var view = new DataView(new ArrayBuffer(bin.length));
      for (var b = 0; b < bin.length; b++) { view.setUint8(b, bin.charCodeAt(b)); }
      var cols = x.shape[1];
      x.rows = [];
      for (var i = 0; i < x.shape[0]; i++) {
        var row = [];
        for (var j = 0; j < cols; j++) { row.push(view.getFloat32(4 * (i * cols + j), true)); }
        x.rows.push(row);
      }
    }
    return x.rows;
  }

  /* A head's keys: its own, or (grouped-query attention) its K/V head's. */
  function keysOf(L, H) { return unpack(H.k || L.kv[H.kv]); }

  function fill(select, items, value) {
    select.textContent = "";
    items.forEach(function (item) {
      var opt = el("option", { value: String(item[0]), text: item[1] }, select);
      if (item[0] === value) { opt.selected = true; }
    });
  }

  function syncControls() {
    var c = current();
    byId("v-kind").value = String(state.kind);
    fill(byId("v-layer"), c.k.layers.map(function (L, i) {
      return [i, "layer " + L.layer];
    }), state.layer);
    var heads = [[-1, "all"]];
    c.L.heads.forEach(function (_, h) { heads.push([h, "head " + h]); });
    fill(byId("v-head"), heads, state.head);
    state.query = Math.min(state.query, c.k.queries.length - 1);
    fill(byId("nv-query"), c.k.queries.map(function (tok, i) {
      return [i, i + ": " + tok];
    }), state.query);
  }

  /* --- head view ------------------------------------------------------------ */
  function drawHead() {
    var c = current();
    var svg = byId("hv-svg");
    svg.textContent = "";
    var q = c.k.queries, keys = c.k.keys;
    var rowH = 26, top = 22, xL = 170, xR = 390;
    var height = top + Math.max(q.length, keys.length) * rowH + 6;
    svg.setAttribute("height", String(height));
    svg.setAttribute("viewBox", "0 0 560 " + height);
    svgEl("text", { x: xL - 10, y: 12, "text-anchor": "end", class: "note",
                    text: "queries" }, svg);
    svgEl("text", { x: xR + 10, y: 12, class: "note", text: "keys" }, svg);
    var heads = state.head < 0 ? c.L.heads.map(function (_, h) { return h; })
                               : [state.head];
    var lines = svgEl("g", { class: "lines" }, svg);
    heads.forEach(function (h) {
      var w = c.L.heads[h].weights;
      for (var i = 0; i < q.length; i++) {
        for (var j = 0; j < keys.length; j++) {
          svgEl("line", {
            class: "attn", x1: xL, y1: top + i * rowH + 9, x2: xR, y2: top + j * rowH + 9,
            stroke: COLOURS[h % COLOURS.length], "stroke-width": 2.5,
            "stroke-opacity": w[i][j].toFixed(4), "data-q": i, "data-k": j, "data-h": h
          }, lines);
        }
      }
    });
    function focus(side, index) {
      lines.querySelectorAll("line").forEach(function (line) {
        var keep = index === null || line.getAttribute("data-" + side) === String(index);
        line.classList.toggle("dim", !keep);
        line.classList.toggle("hl", keep && index !== null);
      });
      svg.querySelectorAll("text.tok").forEach(function (t) {
        t.classList.toggle("sel", index !== null && t.getAttribute("data-side") === side
                           && t.getAttribute("data-i") === String(index));
      });
    }
    /* Hover a token, or Tab to it: only its lines stay. */
    function follow(t, side, index) {
      t.addEventListener("mouseenter", function () { focus(side, index); });
      t.addEventListener("mouseleave", function () { focus(side, null); });
      t.addEventListener("focus", function () { focus(side, index); });
      t.addEventListener("blur", function () { focus(side, null); });
    }
    q.forEach(function (tok, i) {
      follow(svgEl("text", { x: xL - 10, y: top + i * rowH + 14, "text-anchor": "end",
                             class: "tok q", "data-side": "q", "data-i": i, tabindex: 0,
                             text: tok }, svg), "q", i);
    });
    keys.forEach(function (tok, j) {
      follow(svgEl("text", { x: xR + 10, y: top + j * rowH + 14, class: "tok k",
                             "data-side": "k", "data-i": j, tabindex: 0, text: tok }, svg),
             "k", j);
    });
    byId("head-view").setAttribute("data-showing",
      c.L.prefix + (state.head < 0 ? " all" : " head " + state.head));
  }

  /* --- model view ------------------------------------------------------------ */
  /* The grid of thumbnails is built once per attention; choosing a head only
     moves the selection and redraws the big heatmap, so keyboard focus stays. */
  function drawModel() {
    var c = current();
    var grid = byId("mv-grid");
    grid.textContent = "";
    var nHeads = c.L.heads.length;
    var budget = c.k.layers.length * nHeads > 96 ? 48 : 110;
    grid.style.gridTemplateColumns = "max-content repeat(" + nHeads + ", max-content)";
    el("div", {}, grid);
    for (var h = 0; h < nHeads; h++) { el("div", { class: "mv-label", text: "head " + h }, grid); }
    c.k.layers.forEach(function (L, li) {
      el("div", { class: "mv-label", text: "layer " + L.layer }, grid);
      L.heads.forEach(function (H, h) {
        var rows = H.weights.length, cols = H.weights[0].length;
        var s = Math.max(2, Math.min(14, Math.floor(budget / Math.max(rows, cols))));
        var button = el("button", { type: "button", class: "mv-cell", "data-layer": li,
                                    "data-head": h, title: L.prefix + " head " + h,
                                    "aria-label": "layer " + L.layer + ", head " + h }, grid);
        var svg = svgEl("svg", { width: cols * s, height: rows * s, "aria-hidden": "true" },
                        button);
        for (var i = 0; i < rows; i++) {
          for (var j = 0; j < cols; j++) {
            svgEl("rect", { x: j * s, y: i * s, width: s, height: s, fill: "#0b5cad",
                            "fill-opacity": H.weights[i][j].toFixed(3) }, svg);
          }
        }
        svgEl("rect", { x: 0, y: 0, width: cols * s, height: rows * s, fill: "none",
                        stroke: "#d0d7de" }, svg);
        button.addEventListener("click", function () {
          state.layer = li; state.head = h;
          syncControls(); drawHead(); markModel(); drawNeuron();
        });
      });
    });
    markModel();
  }

  /* The chosen head's weights (or their mean over the heads, for "all"). */
  function chosenWeights(L) {
    if (state.head >= 0) { return L.heads[state.head].weights; }
    return L.heads[0].weights.map(function (row, i) {
      return row.map(function (_, j) {
        var sum = 0;
        L.heads.forEach(function (H) { sum += H.weights[i][j]; });
        return sum / L.heads.length;
      });
    });
  }

  function markModel() {
    var c = current();
    byId("mv-grid").querySelectorAll(".mv-cell").forEach(function (b) {
      var on = Number(b.getAttribute("data-layer")) === state.layer &&
               Number(b.getAttribute("data-head")) === state.head;
      b.classList.toggle("sel", on);
      b.setAttribute("aria-pressed", on ? "true" : "false");
    });
    drawHeatmap(c);
  }

  function drawHeatmap(c) {
    var w = chosenWeights(c.L);
    var q = c.k.queries, keys = c.k.keys;
    var size = Math.max(10, Math.min(44, Math.floor(440 / Math.max(q.length, keys.length))));
    var left = 130, top = 96;
    var svg = byId("mv-svg");
    svg.textContent = "";
    var width = left + keys.length * size + 64, height = top + q.length * size + 8;
    svg.setAttribute("width", String(width));
    svg.setAttribute("height", String(height));
    svg.setAttribute("viewBox", "0 0 " + width + " " + height);
    keys.forEach(function (tok, j) {
      var x = left + j * size + size / 2;
      svgEl("text", { x: x, y: top - 6, transform: "rotate(-50 " + x + " " + (top - 6) + ")",
                      class: "tok", text: tok }, svg);
    });
    q.forEach(function (tok, i) {
      svgEl("text", { x: left - 6, y: top + i * size + size / 2 + 4, "text-anchor": "end",
                      class: "tok", text: tok }, svg);
      keys.forEach(function (_, j) {
        var allowed = c.L.mask[i][j];
        var cell = svgEl("rect", {
          class: "hm-cell", x: left + j * size, y: top + i * size, width: size - 1,
          height: size - 1, fill: allowed ? "#0b5cad" : "#eceff1",
          "fill-opacity": allowed ? Math.max(0.03, w[i][j]).toFixed(4) : "1",
          "data-q": i, "data-k": j, "data-w": String(w[i][j])
        }, svg);
        svgEl("title", { text: q[i] + " \u2192 " + keys[j] + ": " + String(w[i][j])
                               + (allowed ? "" : " (masked)") }, cell);
        if (size >= 34) {
          svgEl("text", { x: left + j * size + size / 2, y: top + i * size + size / 2 + 3,
                          "text-anchor": "middle", class: "w" + (w[i][j] > 0.5 ? " dark" : ""),
                          text: allowed ? w[i][j].toFixed(2) : "\u2717" }, svg);
        }
      });
    });
    var label = c.L.prefix + (state.head < 0 ? " all" : " head " + state.head);
    byId("mv-heatmap").setAttribute("data-showing", label);
    byId("mv-caption").textContent = (state.head < 0
      ? "Layer " + c.L.layer + ": the mean of the " + c.L.heads.length + " heads' weights"
      : "Layer " + c.L.layer + ", head " + state.head + ": attention weights")
      + " (rows: queries, columns: keys; hover for the exact value)";
  }

  /* --- neuron view ------------------------------------------------------------ */
  function drawNeuron() {
    var c = current();
    var h = state.head < 0 ? 0 : state.head;
    var H = c.L.heads[h];
    var i = state.query;
    var qv = unpack(H.q)[i], dk = qv.length;
    var box = byId("nv-table");
    box.textContent = "";
    el("p", { class: "note", text: c.L.prefix + ", head " + h
      + (state.head < 0 ? " (all heads chosen: showing head 0)" : "")
      + ", query " + i + " \u201c" + c.k.queries[i] + "\u201d, d_k = " + dk
      + ", \u221ad_k = " + Math.sqrt(dk).toFixed(4) }, box);
    var largest = 0;
    var K = keysOf(c.L, H);
    K.forEach(function (kv) {
      kv.forEach(function (x, m) { largest = Math.max(largest, Math.abs(x), Math.abs(qv[m]),
                                                     Math.abs(x * qv[m])); });
    });
    var table = el("table", {}, box);
    var head = el("tr", {}, el("thead", {}, table));
    el("th", { text: "" }, head);
    el("th", { colspan: dk, text: "vector (q, then each k)" }, head);
    el("th", { colspan: dk, text: "q \u2218 k" }, head);
    el("th", { text: "q \u00b7 k" }, head);
    el("th", { text: "\u00f7 \u221ad_k" }, head);
    el("th", { text: "softmax" }, head);
    var body = el("tbody", {}, table);
    var qrow = el("tr", { class: "query" }, body);
    el("td", { class: "key", text: "q: " + c.k.queries[i] }, qrow);
    qv.forEach(function (x) {
      el("td", { class: "vec", title: String(x), "data-role": "q", text: fmt(x),
                 style: "background:" + diverging(x, largest) }, qrow);
    });
    el("td", { colspan: dk + 3 }, qrow);
    K.forEach(function (kv, j) {
      var allowed = c.L.mask[i][j];
      var tr = el("tr", { class: allowed ? "" : "masked", "data-key": j }, body);
      el("td", { class: "key", text: "k: " + c.k.keys[j] }, tr);
      kv.forEach(function (x) {
        el("td", { class: "vec", title: String(x), "data-role": "k", text: fmt(x),
                   style: "background:" + diverging(x, largest) }, tr);
      });
      kv.forEach(function (x, m) {
        var p = x * qv[m];
        el("td", { class: "vec", title: String(p), "data-role": "product", text: fmt(p),
                   style: "background:" + diverging(p, largest) }, tr);
      });
      el("td", { title: String(H.scores[i][j]), "data-role": "score",
                 text: fmt(H.scores[i][j]) }, tr);
      el("td", { title: String(H.scaled[i][j]), "data-role": "scaled",
                 text: allowed ? fmt(H.scaled[i][j]) : fmt(H.scaled[i][j]) + " \u2192 \u2212\u221e" }, tr);
      var w = H.weights[i][j];
      el("td", { title: String(w), "data-role": "weight", text: fmt(w),
                 style: "background: rgba(35, 139, 69, " + w.toFixed(4) + ")"
                        + (w > 0.5 ? "; color: #fff" : "") }, tr);
    });
  }

  function drawAll() { drawHead(); drawModel(); drawNeuron(); }

  if (!kinds.length) { return; }
  byId("v-kind").addEventListener("change", function (e) {
    state.kind = Number(e.target.value); state.layer = 0; state.head = 0; state.query = 0;
    syncControls(); drawAll();
  });
  byId("v-layer").addEventListener("change", function (e) {
    state.layer = Number(e.target.value); syncControls(); drawHead(); markModel(); drawNeuron();
  });
  byId("v-head").addEventListener("change", function (e) {
    state.head = Number(e.target.value); drawHead(); markModel(); drawNeuron();
  });
  byId("nv-query").addEventListener("change", function (e) {
    state.query = Number(e.target.value); drawNeuron();
  });
  syncControls();
  drawAll();
}());
