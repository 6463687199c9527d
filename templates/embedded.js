/* In a notebook, explain() shows this page in an <iframe srcdoc> (notebook.html.j2).
   There a link "#id" would resolve against the notebook's own address and load the
   notebook inside the frame, so in-page links scroll here instead; and the page
   tells the frame how tall it is, so that the frame fits it (no scroll box inside
   the notebook's). On its own (not in a frame) the page does none of this. */
(function () {
  "use strict";
  if (window.parent === window) { return; }

  function post(message) {
    message.explainer = 1;
    window.parent.postMessage(message, "*");
  }

  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest("a");
    if (!link || event.defaultPrevented) { return; }
    var href = link.getAttribute("href") || link.getAttribute("xlink:href") || "";
    if (href.charAt(0) !== "#") { return; }
    var target = document.getElementById(decodeURIComponent(href.slice(1)));
    if (!target) { return; }
    event.preventDefault();
    target.scrollIntoView({ block: "start" });  /* the frame's own scroll, if any */
    var top = target.getBoundingClientRect().top + window.scrollY;
    post({ scrollTo: Math.round(top) });  /* the notebook's scroll */
  });

  var last = -1;
  function size() {
    var root = document.documentElement;
    var scrollbar = window.innerHeight - root.clientHeight;  /* a sideways one */
    var height = Math.ceil(root.getBoundingClientRect().height) + scrollbar;
    if (height !== last) {
      last = height;
      post({ height: height });
    }
  }
  /* Chrome does not run ResizeObserver in a frame scrolled out of view, so the
     events that change the height call size() too: a <details> opened or closed,
     a menu or a click in the views (after their own handlers), the frame resized. */
  if (window.ResizeObserver) { new ResizeObserver(size).observe(document.documentElement); }
  document.addEventListener("toggle", size, true);  /* toggle does not bubble */
  ["click", "change", "keyup"].forEach(function (kind) {
    document.addEventListener(kind, function () { setTimeout(size, 0); });
  });
  window.addEventListener("resize", size);
  window.addEventListener("load", size);
  size();
})();
