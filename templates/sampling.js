/* The sampling panel (section_sampling.html.j2). From the logits z of the last
   position (all V of them, base64 of their little-endian bytes) it computes
   p = softmax(z / T); top-k keeps the k largest (and any tied with the k-th),
   top-p the fewest most probable whose sum reaches p; the kept probabilities are
   divided by their sum. The same rules as explainer.models.generate. T = 0 is
   greedy: the largest logit gets probability 1. */
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("sampling-data").textContent);
  var z = decode(data.logits, data.dtype);
  var sorted = Float64Array.from(z).sort().reverse();  /* largest first */
  var V = sorted.length;
  var controls = {
    t: document.getElementById("sampling-t"),
    k: document.getElementById("sampling-k"),
    p: document.getElementById("sampling-p")
  };
  var rows = document.querySelectorAll("#sampling-bars li");
  var summary = document.getElementById("sampling-summary");
  var off = document.getElementById("sampling-controls").dataset.off;

  /* One of the page's sentences (data-* of the summary), {name}s filled in. */
  function words(name, values) {
    return summary.dataset[name].replace(/\{(\w+)\}/g, function (all, key) {
      return key in values ? values[key] : all;
    });
  }

  function decode(text, dtype) {
    var bytes = atob(text);
    var size = dtype === "float32" ? 4 : 8;
    var view = new DataView(new ArrayBuffer(bytes.length));
    for (var i = 0; i < bytes.length; i++) { view.setUint8(i, bytes.charCodeAt(i)); }
    var out = new Float64Array(bytes.length / size);
    for (var j = 0; j < out.length; j++) {
      out[j] = size === 4 ? view.getFloat32(4 * j, true) : view.getFloat64(8 * j, true);
    }
    return out;
  }

  /* The probabilities of the tokens in `sorted` order (0 for a dropped token),
     and how many tokens top-k and then top-p kept. */
  function distribution(T, k, p) {
    var probs = new Float64Array(V);
    if (T === 0) { probs[0] = 1; return { probs: probs, byK: 1, byP: 1 }; }
    var byK = V;
    if (k > 0 && k < V) {
      byK = k;
      while (byK < V && sorted[byK] === sorted[k - 1]) { byK++; }
    }
    var total = 0, i;
    for (i = 0; i < byK; i++) {
      probs[i] = Math.exp((sorted[i] - sorted[0]) / T);  /* ≤ 1: no overflow */
      total += probs[i];
    }
    for (i = 0; i < byK; i++) { probs[i] /= total; }
    var byP = byK;
    if (p < 1) {
      var sum = 0;
      for (byP = 0; byP < byK && sum < p; byP++) { sum += probs[byP]; }
      for (i = 0; i < V; i++) { probs[i] = i < byP ? probs[i] / sum : 0; }
    }
    return { probs: probs, byK: byK, byP: byP };
  }

  function shown(p) {
    if (p === 0) { return "0"; }
    return p >= 1e-4 ? p.toFixed(4) : p.toExponential(1);
  }

  function update() {
    var T = Number(controls.t.value), k = Number(controls.k.value);
    var p = Number(controls.p.value);
    document.getElementById("sampling-t-value").textContent = T.toFixed(2);
    document.getElementById("sampling-k-value").textContent = k > 0 ? String(k) : off;
    document.getElementById("sampling-p-value").textContent = p < 1 ? p.toFixed(2) : off;
    var d = distribution(T, k, p);
    rows.forEach(function (row, r) {
      var q = d.probs[r];
      var cut = T === 0 ? "" : r >= d.byK ? "top-k" : r >= d.byP ? "top-p" : "";
      row.dataset.p = String(q);
      row.className = cut ? "cut" : "";
      row.querySelector(".fill").style.width = (100 * q).toFixed(2) + "%";
      row.querySelector(".p").textContent = cut ? words("cut", { rule: cut }) : shown(q);
    });
    var kept = Math.min(d.byK, d.byP);
    summary.textContent = words(T === 0 ? "greedy" : kept === V ? "all" : "some", {
      T: T.toFixed(2), kept: kept, V: V.toLocaleString("en"),
      token: rows[0].querySelector(".tok").textContent, p: shown(d.probs[0])
    });
  }

  ["t", "k", "p"].forEach(function (name) {
    controls[name].addEventListener("input", update);
  });
  update();
})();
