/* The live explorer's page (live.html.j2): trace a new sentence and swap its
   report into the frame; generate, showing each token as the server sends it. */
(function () {
  "use strict";
  var form = document.getElementById("live-form");
  var sentence = document.getElementById("live-sentence");
  var model = document.getElementById("live-model");
  var status = document.getElementById("live-status");
  var tokens = document.getElementById("live-tokens");
  var frame = document.getElementById("live-report");
  var busy = false;

  /* One of the page's sentences (data-* of the form, in the page's language),
     {name}s filled in. */
  function words(name, values) {
    return form.dataset[name].replace(/\{(\w+)\}/g, function (all, key) {
      return String(values ? values[key] : all);
    });
  }

  var sampling = document.getElementById("live-sampling");

  function body(generating) {
    var choice = model.value.split(":");
    var request = { sentence: sentence.value };
    request[choice[0]] = choice[1];  /* "preset:default" or "model:smollm2" */
    if (generating) {
      number(request, "max_new_tokens", "live-new-tokens");
      if (!sampling.disabled) {
        number(request, "temperature", "live-temperature");
        number(request, "top_k", "live-top-k");
        number(request, "top_p", "live-top-p");
        number(request, "seed", "live-seed");
      }
    }
    return JSON.stringify(request);
  }

  /* A number box's value, if any; the server checks its range and says why. */
  function number(request, name, id) {
    var text = document.getElementById(id).value.trim();
    if (text !== "") { request[name] = Number(text); }
  }

  function pickSampling() { sampling.disabled = model.value !== "model:smollm2"; }
  model.addEventListener("change", pickSampling);
  pickSampling();

  function say(text, isError) {
    status.textContent = text;
    status.className = isError ? "status error" : "status";
  }

  function failed(response) {
    return response.json().then(function (data) {
      say(data.error || words("error", { status: response.status }), true);
    }, function () { say(words("error", { status: response.status }), true); });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    if (busy) { return; }
    busy = true;
    say(words("tracing"), false);
    fetch("/api/report", { method: "POST", body: body(false),
                           headers: { "Content-Type": "application/json" } })
      .then(function (response) {
        if (!response.ok) { return failed(response); }
        return response.text().then(function (html) {
          frame.srcdoc = html;
          say(words("traced", { sentence: sentence.value }), false);
        });
      }, function () { say(words("noAnswer"), true); })
      .then(function () { busy = false; });
  });

  document.getElementById("live-generate").addEventListener("click", function () {
    if (busy) { return; }
    busy = true;
    tokens.textContent = "";
    top.textContent = "";
    caption.textContent = "";
    say(words("generating"), false);
    fetch("/api/generate", { method: "POST", body: body(true),
                             headers: { "Content-Type": "application/json" } })
      .then(function (response) {
        if (!response.ok) { return failed(response); }
        var reader = response.body.getReader();
        var decoder = new TextDecoder();
        var buffer = "";
        function read() {
          return reader.read().then(function (chunk) {
            if (chunk.done) { return; }
            buffer += decoder.decode(chunk.value, { stream: true });
            var events = buffer.split("\n\n");
            buffer = events.pop();
            events.forEach(show);
            return read();
          });
        }
        return read();
      }, function () { say(words("noAnswer"), true); })
      .then(function () { busy = false; });
  });

  /* The step's distribution: its most probable tokens, each with a bar and p. */
  var top = document.getElementById("live-top");
  var caption = document.getElementById("live-top-caption");
  var steps = 0;
  function showTop(rows) {
    top.textContent = "";
    rows.forEach(function (row) {
      var item = document.createElement("li");
      var token = document.createElement("span");
      token.textContent = JSON.stringify(row.token);
      var cell = document.createElement("span");
      var bar = document.createElement("span");
      bar.className = "bar";
      bar.style.display = "block";
      bar.style.width = (100 * row.p).toFixed(1) + "%";
      cell.appendChild(bar);
      var p = document.createElement("span");
      p.className = "p";
      p.textContent = "p = " + row.p.toFixed(4);
      item.appendChild(token);
      item.appendChild(cell);
      item.appendChild(p);
      top.appendChild(item);
    });
  }

  /* The token the step took, as its bar names it. */
  function chosen(value) {
    for (var i = 0; i < value.top.length; i++) {
      if (value.top[i].id === value.id) { return value.top[i].token; }
    }
    return value.text;
  }

  function show(block) {
    var name = "", data = "";
    block.split("\n").forEach(function (line) {
      if (line.indexOf("event: ") === 0) { name = line.slice(7); }
      if (line.indexOf("data: ") === 0) { data = line.slice(6); }
    });
    var value = JSON.parse(data || "{}");
    if (name === "start") {
      tokens.textContent = value.text + (value.task === "translate" ? " →" : "");
      steps = 0;
    } else if (name === "token") {
      tokens.textContent += value.text;
      steps += 1;
      caption.textContent = words("step", { step: steps, n: value.top.length,
                                            token: JSON.stringify(chosen(value)) });
      showTop(value.top);
    } else if (name === "done") {
      say(words("generated", { n: value.new_tokens }), false);
    } else if (name === "error") {
      say(value.error, true);
    }
  }

  /* The report inside the frame tells its height (embedded.js). */
  window.addEventListener("message", function (event) {
    var data = event.data;
    if (event.source !== frame.contentWindow || !data || data.explainer !== 1) { return; }
    if (typeof data.height === "number" && data.height > 0) {
      frame.style.height = data.height + "px";
    }
    if (typeof data.scrollTo === "number") {
      window.scrollTo(0, frame.offsetTop + data.scrollTo - 60);
    }
  });
})();
