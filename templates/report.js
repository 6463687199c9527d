/* The three attention views (head, model, neuron), in plain JavaScript.
   Data: the trace's numbers, embedded as JSON in #views-data. Nothing is fetched. */
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("views-data").textContent);
  var kinds = data.kinds;
  var NS = "http://www.w3.org/2000/svg";
  /* The palette (explainer/palette.py), as the page's CSS custom properties:
     heads --head-1 …, probabilities --w-0 … --w-8, signed numbers --d-0 … --d-8. */
  var css = getComputedStyle(document.documentElement);
  function hexRgb(hex) {
    hex = hex.trim().replace("#", "");
    return [0, 2, 4].map(function (i) { return parseInt(hex.substr(i, 2), 16); });
  }
  function ramp(name, n) {
    var out = [];
    for (var i = 0; i < n; i++) { out.push(css.getPropertyValue("--" + name + i).trim()); }
    return out;
  }
  var COLOURS = ramp("head-", 8).map(function (hex) { return hex || "#57606a"; });
  var WEIGHTS = ramp("w-", 9).map(hexRgb), DIVERGING = ramp("d-", 9).map(hexRgb);
  var state = { kind: 0, layer: 0, head: 0, query: 0 };  /* head -1: all heads */

  function byId(id) { return document.getElementById(id); }

  /* One of the page's words (data-* of .views, in the page's language, from
     templates/views.html.j2), its {name}s filled in from values. */
  var WORDS = document.querySelector(".views").dataset;
  function words(name, values) {
    return WORDS[name].replace(/\{(\w+)\}/g, function (all, key) {
      return values && key in values ? String(values[key]) : all;
    });
  }

  /* Chinese (CJK) text is marked lang="zh", so that screen readers say it in
     Chinese: the page's own tokens once at load, and every label drawn here. */
  var CJK = /[\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef]/;
  function markLang(node) {
    if (CJK.test(node.textContent)) { node.setAttribute("lang", "zh"); }
  }
  document.querySelectorAll(".said, .tok, .target, table.m th, table.plain td, "
                            + "figcaption b").forEach(function (node) {
    if (!node.children.length) { markLang(node); }
  });

  /* A box that scrolls sideways (a wide formula or matrix) takes keyboard focus,
     so that the arrow keys can scroll it too. */
  function focusScrollers() {
    document.querySelectorAll(".scroll, .step > div, math[display=block], .where, "
                              + ".formula, .figure, .diagram, table.plain, "
                              + "details.verify, .mv-scroll").forEach(function (box) {
      var wide = box.scrollWidth > box.clientWidth + 1;
      if (wide && !box.hasAttribute("tabindex")) { box.setAttribute("tabindex", "0"); }
      if (!wide && box.getAttribute("tabindex") === "0") { box.removeAttribute("tabindex"); }
    });
  }

  function el(tag, attrs, parent, svg) {
    var node = svg ? document.createElementNS(NS, tag) : document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (key) {
      if (key === "text") { node.textContent = attrs[key]; markLang(node); }
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

  /* The colour a fraction t (0 … 1) of the way along a ramp, linear between its
     steps (palette.along in Python). */
  function along(steps, t) {
    var x = Math.max(0, Math.min(1, t)) * (steps.length - 1);
    var i = Math.min(Math.floor(x), steps.length - 2), f = x - i;
    return steps[i].map(function (a, n) { return Math.round(a + (steps[i + 1][n] - a) * f); });
  }


  function diverging(x, largest) {
    var t = largest ? Math.max(-1, Math.min(1, x / largest)) : 0;
    return along(DIVERGING, (t + 1) / 2);
  }

  /* Relative luminance and contrast ratio (WCAG 2.1, 1.4.3). */
  function luminance(rgb) {
    var c = rgb.map(function (v) {
      v /= 255;
      return v <= 0.04045 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4);
    });
    return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];
  }
  /* Black or white text, whichever contrasts more with rgb (always ≥ 4.5 : 1). */
  function inkOn(rgb) {
    var l = luminance(rgb);
    return (1.05 / (l + 0.05)) >= ((l + 0.05) / 0.05) ? "#fff" : "#000";
  }
  function paint(rgb) {
    return "background-color: rgb(" + rgb.join(",") + "); color: " + inkOn(rgb);
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
      return [i, words("layer", { layer: L.layer })];
    }), state.layer);
    var heads = [[-1, words("all")]];
    c.L.heads.forEach(function (_, h) { heads.push([h, words("head", { h: h })]); });
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
                    text: words("queries") }, svg);
    svgEl("text", { x: xR + 10, y: 12, class: "note", text: words("keys") }, svg);
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
     moves the selection and redraws the big heatmap, so keyboard focus stays.
     One Tab stop: the chosen cell; the arrow keys move between heads and layers. */
  function drawModel() {
    var c = current();
    var grid = byId("mv-grid");
    grid.textContent = "";
    var nHeads = c.L.heads.length;
    grid.style.gridTemplateColumns = "max-content repeat(" + nHeads + ", max-content)";
    el("div", { class: "mv-label", text: words("heads") }, grid);
    for (var h = 0; h < nHeads; h++) { el("div", { class: "mv-label", text: String(h) }, grid); }
    c.k.layers.forEach(function (L, li) {
      el("div", { class: "mv-label", text: words("layer", { layer: L.layer }) }, grid);
      L.heads.forEach(function (H, h) {
        var rows = H.weights.length, cols = H.weights[0].length;
        var button = el("button", { type: "button", class: "mv-cell", "data-layer": li,
                                    "data-head": h,
                                    title: words("cellTitle", { prefix: L.prefix, h: h }),
                                    "aria-label": words("cellLabel",
                                                        { layer: L.layer, h: h }) }, grid);
        var svg = svgEl("svg", { viewBox: "0 0 " + cols + " " + rows, "aria-hidden": "true",
                                 "shape-rendering": "crispEdges" }, button);
        for (var i = 0; i < rows; i++) {
          for (var j = 0; j < cols; j++) {
            svgEl("rect", { x: j, y: i, width: 1, height: 1,
                            fill: "rgb(" + along(WEIGHTS, H.weights[i][j]).join(",") + ")" }, svg);
          }
        }
        button.addEventListener("click", function () { choose(li, h); });
      });
    });
    sizeThumbs();
    markModel();
  }

  function choose(layer, head) {
    state.layer = layer; state.head = head;
    syncControls(); drawHead(); markModel(); drawNeuron();
  }

  /* Thumbnails sized from the width there is: every head of a layer in one row,
     each at most 110 px (48 px when there are many), at least 14 px (below that
     the grid scrolls in its own box). */
  function sizeThumbs() {
    var grid = byId("mv-grid");
    var cells = grid.querySelectorAll(".mv-cell");
    if (!cells.length) { return; }
    var c = current(), nHeads = c.L.heads.length;
    var most = c.k.layers.length * nHeads > 96 ? 48 : 110;
    var style = getComputedStyle(grid);
    var gap = parseFloat(style.columnGap) || 0;
    var label = grid.children[nHeads + 1].getBoundingClientRect().width;
    var first = cells[0], svg0 = first.querySelector("svg");
    var chrome = first.getBoundingClientRect().width - svg0.getBoundingClientRect().width;
    var room = grid.parentNode.parentNode.clientWidth - label - nHeads * (gap + chrome);
    var size = Math.max(14, Math.min(most, Math.floor(room / nHeads)));
    cells.forEach(function (b) {
      var svg = b.querySelector("svg"), box = svg.viewBox.baseVal;
      var unit = size / Math.max(box.width, box.height);
      svg.setAttribute("width", String(Math.round(box.width * unit)));
      svg.setAttribute("height", String(Math.round(box.height * unit)));
    });
  }

  /* Arrow keys: left and right between heads, up and down between layers. */
  function moveByKey(e) {
    var steps = { ArrowLeft: [0, -1], ArrowRight: [0, 1], ArrowUp: [-1, 0],
                  ArrowDown: [1, 0], Home: [0, -1e9], End: [0, 1e9] }[e.key];
    if (!steps) { return; }
    var c = current();
    var layer = Math.max(0, Math.min(c.k.layers.length - 1, state.layer + steps[0]));
    var head = Math.max(0, Math.min(c.L.heads.length - 1, Math.max(0, state.head) + steps[1]));
    e.preventDefault();
    choose(layer, head);
    var cell = byId("mv-grid").querySelector('.mv-cell[data-layer="' + layer
                                            + '"][data-head="' + head + '"]');
    if (cell) { cell.focus(); }
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
    var first = byId("mv-grid").querySelector(".mv-cell");
    byId("mv-grid").querySelectorAll(".mv-cell").forEach(function (b) {
      var on = Number(b.getAttribute("data-layer")) === state.layer &&
               Number(b.getAttribute("data-head")) === state.head;
      b.classList.toggle("sel", on);
      b.setAttribute("aria-pressed", on ? "true" : "false");
      b.tabIndex = on || (state.head < 0 && b === first) ? 0 : -1;
    });
    drawHeatmap(c);
  }

  function drawHeatmap(c) {
    var w = chosenWeights(c.L);
    var q = c.k.queries, keys = c.k.keys;
    /* Sized from the width there is (a phone too), so that its labels and
       numbers keep their size instead of the picture being scaled down. */
    var longest = Math.max.apply(null, q.concat(keys).map(function (t) { return t.length; }));
    var left = Math.min(130, 14 + 8 * longest), top = Math.min(96, 20 + 6 * longest);
    var room = (byId("mv-heatmap").clientWidth || 440) - left - 48;
    var n = Math.max(q.length, keys.length);
    var size = Math.max(10, Math.min(44, Math.floor(440 / n), Math.floor(room / n)));
    var svg = byId("mv-svg");
    svg.textContent = "";
    var width = left + keys.length * size + 48, height = top + q.length * size + 8;
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
        var rgb = allowed ? along(WEIGHTS, w[i][j]) : [236, 239, 241];
        var cell = svgEl("rect", {
          class: "hm-cell", x: left + j * size, y: top + i * size, width: size - 1,
          height: size - 1, fill: "rgb(" + rgb.join(",") + ")",
          "data-q": i, "data-k": j, "data-w": String(w[i][j])
        }, svg);
        var weight = String(w[i][j]);
        svgEl("title", { text: q[i] + " \u2192 " + keys[j] + ": "
                               + (allowed ? weight : words("masked", { weight: weight })) },
              cell);
        if (size >= 34) {
          svgEl("text", { x: left + j * size + size / 2, y: top + i * size + size / 2 + 3,
                          "text-anchor": "middle", class: "w", style: "fill: " + inkOn(rgb),
                          text: allowed ? w[i][j].toFixed(2) : "\u2717" }, svg);
        }
      });
    });
    var label = c.L.prefix + (state.head < 0 ? " all" : " head " + state.head);
    byId("mv-heatmap").setAttribute("data-showing", label);
    byId("mv-caption").textContent = state.head < 0
      ? words("captionAll", { layer: c.L.layer, n: c.L.heads.length })
      : words("captionHead", { layer: c.L.layer, h: state.head });
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
    el("p", { class: "note", text: words(state.head < 0 ? "queryAll" : "query", {
      prefix: c.L.prefix, h: h, i: i, token: c.k.queries[i], dk: dk,
      root: Math.sqrt(dk).toFixed(4) }) }, box);
    var largest = 0;
    var K = keysOf(c.L, H);
    K.forEach(function (kv) {
      kv.forEach(function (x, m) { largest = Math.max(largest, Math.abs(x), Math.abs(qv[m]),
                                                     Math.abs(x * qv[m])); });
    });
    var key = el("div", { class: "legend" }, box);
    var bar = el("span", { class: "bar ramp diverging", role: "img",
                           "aria-label": words("scale", { low: fmt(-largest),
                                                          high: fmt(largest) }) }, key);
    el("span", { class: "tick t0", text: fmt(-largest) }, bar);
    el("span", { class: "tick t4", text: "0" }, bar);
    el("span", { class: "tick t8", text: fmt(largest) }, bar);
    el("span", { class: "what", text: words("scaleWhat") }, key);
    var table = el("table", {}, box);
    var head = el("tr", {}, el("thead", {}, table));
    el("th", { class: "stick left", text: words("token") }, head);
    el("th", { colspan: dk, text: words("vector") }, head);
    el("th", { colspan: dk, text: "q \u2218 k" }, head);
    el("th", { "data-stick": 2, text: "q \u00b7 k" }, head);
    el("th", { "data-stick": 1, text: "\u00f7 \u221ad_k" }, head);
    el("th", { "data-stick": 0, text: "softmax" }, head);
    var body = el("tbody", {}, table);
    var qrow = el("tr", { class: "query" }, body);
    el("td", { class: "key stick left", text: "q: " + c.k.queries[i] }, qrow);
    qv.forEach(function (x) {
      el("td", { class: "vec", title: String(x), "data-role": "q", text: fmt(x),
                 style: paint(diverging(x, largest)) }, qrow);
    });
    el("td", { colspan: dk }, qrow);
    [2, 1, 0].forEach(function (n) { el("td", { "data-stick": n }, qrow); });
    K.forEach(function (kv, j) {
      var allowed = c.L.mask[i][j];
      var tr = el("tr", { class: allowed ? "" : "masked", "data-key": j }, body);
      el("td", { class: "key stick left", text: "k: " + c.k.keys[j] }, tr);
      kv.forEach(function (x) {
        el("td", { class: "vec", title: String(x), "data-role": "k", text: fmt(x),
                   style: paint(diverging(x, largest)) }, tr);
      });
      kv.forEach(function (x, m) {
        var p = x * qv[m];
        el("td", { class: "vec", title: String(p), "data-role": "product", text: fmt(p),
                   style: paint(diverging(p, largest)) }, tr);
      });
      el("td", { title: String(H.scores[i][j]), "data-role": "score", "data-stick": 2,
                 text: fmt(H.scores[i][j]) }, tr);
      el("td", { title: String(H.scaled[i][j]), "data-role": "scaled", "data-stick": 1,
                 text: allowed ? fmt(H.scaled[i][j]) : fmt(H.scaled[i][j]) + " \u2192 \u2212\u221e" }, tr);
      var w = H.weights[i][j];
      el("td", { title: String(w), "data-role": "weight", "data-stick": 0, text: fmt(w),
                 style: paint(along(WEIGHTS, w)) }, tr);
    });
    stickRight(box, table);
  }

  /* A wide head (d_k = 64) scrolls sideways: the key labels stay on the left and
     q·k, ÷√d_k and softmax on the right, if the box leaves room between them. */
  function stickRight(box, table) {
    var end = table.getBoundingClientRect().right;
    var offsets = [0, 1, 2].map(function (n) {
      var cell = table.querySelector('tbody tr[data-key] [data-stick="' + n + '"]');
      return cell ? end - cell.getBoundingClientRect().right : 0;
    });
    var first = table.querySelector('tbody tr[data-key] [data-stick="2"]');
    var key = table.querySelector(".stick.left").getBoundingClientRect().width;
    var fits = first && box.clientWidth >= key + end - first.getBoundingClientRect().left
                                             + 120;
    table.querySelectorAll("[data-stick]").forEach(function (cell) {
      var n = Number(cell.getAttribute("data-stick"));
      cell.classList.toggle("stick", Boolean(fits));
      cell.classList.toggle("first-right", Boolean(fits) && n === 2);
      cell.style.right = fits ? offsets[n] + "px" : "";
    });
  }

  function drawAll() { drawHead(); drawModel(); drawNeuron(); }

  if (!kinds.length) { focusScrollers(); return; }
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
  byId("mv-grid").addEventListener("keydown", moveByKey);
  var resizing = 0;
  window.addEventListener("resize", function () {
    clearTimeout(resizing);
    resizing = setTimeout(function () {
      sizeThumbs(); drawHeatmap(current()); focusScrollers();
    }, 150);
  });
  document.querySelectorAll("details").forEach(function (d) {
    d.addEventListener("toggle", focusScrollers);
  });
  syncControls();
  drawAll();
  focusScrollers();
}());
