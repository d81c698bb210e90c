/* Weight Decay, Verified: filter the claims ledger by post (or source, or chapter) and verdict.
   Works offline; without JavaScript the filters stay hidden and every row is shown. The few
   words the script writes follow the page's language (<html lang="zh-CN"> in the Chinese
   edition). */
var ZH = /^zh/i.test(document.documentElement.lang || "");
(function () {
  "use strict";
  function setup(form) {
    var table = document.getElementById(form.dataset.table);
    if (!table) return;
    var rows = Array.prototype.slice.call(table.tBodies[0].rows);
    var output = form.querySelector("output");
    function apply() {
      var group = form.elements.group.value, verdict = form.elements.verdict.value, shown = 0;
      rows.forEach(function (row) {
        var keep = (!group || row.dataset.group === group) && (!verdict || row.dataset.verdict === verdict);
        row.hidden = !keep;
        if (keep) shown += 1;
      });
      output.textContent = shown === rows.length ? "" : shown === 0
        ? (ZH ? "没有论断符合这两个条件" : "no claim matches both choices")
        : (ZH ? "显示 " + shown + " / " + rows.length + " 条" : "showing " + shown + " of " + rows.length);
      table.hidden = shown === 0;
    }
    form.addEventListener("change", apply);
    form.addEventListener("submit", function (event) { event.preventDefault(); });
    form.hidden = false;
    apply();
  }
  function start() {
    Array.prototype.forEach.call(document.querySelectorAll("form.decaylab-ledger-filter"), setup);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();

/* Tables that are wider than the text column (the measured tables in cell outputs) scroll
   sideways; say so. The container gets "is-scrollable" while columns are hidden on the right
   (CSS fades the right edge) and a note above the table says how to see them. */
(function () {
  "use strict";
  function update(box) {
    var hidden = box.scrollWidth - box.clientWidth - box.scrollLeft > 2;
    box.classList.toggle("is-scrollable", box.scrollWidth > box.clientWidth + 2);
    box.classList.toggle("has-more", hidden);
  }
  function start() {
    var boxes = document.querySelectorAll(".cell_output .pst-scrollable-table-container");
    Array.prototype.forEach.call(boxes, function (box) {
      var note = document.createElement("p");
      note.className = "decaylab-scroll-note";
      note.textContent = ZH ? "表格比页面宽：横向滚动可看到更多列 →"
        : "The table is wider than the page: scroll it sideways for more columns →";
      box.parentNode.insertBefore(note, box);
      box.addEventListener("scroll", function () { update(box); }, { passive: true });
      update(box);
    });
    window.addEventListener("resize", function () { Array.prototype.forEach.call(boxes, update); });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();

/* On a phone the measured tables in cell outputs become one card per row: each cell is
   labelled with its column's header (CSS shows the label), so the answer is on screen
   without scrolling. */
(function () {
  "use strict";
  function start() {
    Array.prototype.forEach.call(document.querySelectorAll(".cell_output table"), function (table) {
      var head = table.tHead && table.tHead.rows[0];
      if (!head) return;
      var labels = Array.prototype.map.call(head.cells, function (c) { return c.textContent.trim(); });
      Array.prototype.forEach.call(table.tBodies, function (body) {
        Array.prototype.forEach.call(body.rows, function (row) {
          Array.prototype.forEach.call(row.cells, function (cell, i) {
            if (labels[i]) cell.setAttribute("data-label", labels[i]);
          });
        });
      });
      table.classList.add("decaylab-stackable");
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();

/* MathJax's menu is off, so formulas are no tab stops; a displayed formula wider than the
   column scrolls sideways, and a keyboard must reach it to scroll it (axe:
   scrollable-region-focusable): such formulas, and only they, become focusable. */
(function () {
  "use strict";
  function mark() {
    Array.prototype.forEach.call(document.querySelectorAll('mjx-container[display="true"]'), function (m) {
      if (m.scrollWidth > m.clientWidth + 1) {
        m.setAttribute("tabindex", "0");
        m.setAttribute("role", "region");
        m.setAttribute("aria-label", ZH ? "公式（可横向滚动）" : "formula (scrolls sideways)");
      } else {
        m.removeAttribute("tabindex");
      }
    });
  }
  var tries = 0;
  function start() {
    if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
      MathJax.startup.promise.then(mark);
    } else if (tries++ < 100 && document.querySelector(".math")) {
      setTimeout(start, 100);  // MathJax loads after this script; pages without math have none
    }
  }
  start();
  window.addEventListener("resize", function () { mark(); });
})();

/* A page with the primer's interactive figure (div.decay-explorer) loads its script,
   decay-explorer.js, from beside this one; no other page does. */
(function () {
  "use strict";
  var me = document.currentScript;
  function start() {
    if (!me || !document.querySelector("div.decay-explorer")) return;
    var script = document.createElement("script");
    script.src = me.src.replace(/decaylab\.js(\?[^#]*)?$/, "decay-explorer.js$1");
    document.head.appendChild(script);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();

/* Printing shows every folded verdict box and ledger row open (and closes them again after). */
(function () {
  "use strict";
  var opened = [];
  window.addEventListener("beforeprint", function () {
    opened = Array.prototype.filter.call(document.querySelectorAll("details:not([open])"), function (d) {
      d.open = true;
      return true;
    });
  });
  window.addEventListener("afterprint", function () {
    opened.forEach(function (d) { d.open = false; });
    opened = [];
  });
})();
