/* Weight Decay, Verified: the primer's interactive figure. What decay alone does to one
   weight (its data gradient is zero), for a learning rate, a decay, a momentum and a number
   of steps chosen with sliders; and decay's clock read in a run of E epochs over N examples
   in batches of B (⌈N/B⌉ steps an epoch: τ = 1/(ηλ) steps and τ/⌈N/B⌉ epochs, the
   half-life in both, the shrink exp(−ηλ·steps) after E epochs). Plain JavaScript, no library, works offline. decaylab.js
   loads this file on pages that hold a div.decay-explorer; the div carries the constants
   the build wrote from decaylab.explorer (slider values, Adam's constants, each
   framework's code). The formulas are decaylab.explorer's and decaylab.reference's; the
   browser test compares window.decayExplorer.compute with them on a grid of settings. */
(function () {
  "use strict";
  var ZH = /^zh/i.test(document.documentElement.lang || "");
  var T = ZH ? {
    optimizer: "优化器", lr: "学习率 η", decay: "衰减 λ（weight_decay）", momentum: "动量 μ", steps: "画出的步数",
    batch: "批量大小 B", data: "样本数 N", epochs: "训练轮数 E", run: "一次训练：E 轮，每轮 ⌈N/B⌉ 步",
    names: { sgd: "SGD + weight_decay（耦合，即 L2）", sgdw: "SGD + 解耦衰减（Keras 的 SGD）",
             adam: "Adam + weight_decay（耦合 L2）", adamw: "AdamW（解耦衰减）" },
    factor: "每步因子", half: "半衰期（公式）", reached: "实际降到一半", after: "画出的最后一步的权重",
    steps_unit: " 步", epochs_unit: " 轮", tau: "时间尺度 τ = 1/(ηλ)", total: "E 轮的总步数",
    shrink: "E 轮后缩小为 exp(−ηλ·步数)", own: "本优化器：|因子|^步数",
    grows: "—（权重变大）", never: "在所选步数内没有", none: "没有：Adam 会把 λw 除以它自己的大小，权重每步约移动 η，与 λ 无关",
    kinds: { shrinks: "每步缩小", swings: "来回越过零点", grows: "发散：权重变大", stays: "不变" },
    unused: "Adam 的 β1 固定为 0.9", code: "各框架的写法（来自 Rosetta 一章的实测行）",
    norow: "没有实测过的写法", plot: function (t, w) { return "权重从 1 开始，" + t + " 步后为 " + w; },
    axis: "步", weight: "权重 w", settings: "设置"
  } : {
    optimizer: "Optimizer", lr: "Learning rate η", decay: "Decay λ (weight_decay)", momentum: "Momentum μ",
    steps: "Steps drawn", batch: "Batch size B", data: "Examples N", epochs: "Epochs E",
    run: "A training run: E epochs of ⌈N/B⌉ steps",
    names: { sgd: "SGD + weight_decay (coupled, = L2)", sgdw: "SGD + decoupled decay (Keras's SGD)",
             adam: "Adam + weight_decay (coupled L2)", adamw: "AdamW (decoupled)" },
    factor: "Per-step factor", half: "Half-life (formula)", reached: "Actually halved at",
    after: "Weight at the last step drawn", steps_unit: " steps", epochs_unit: " epochs",
    tau: "Timescale τ = 1/(ηλ)", total: "Steps in E epochs", shrink: "Shrink after E epochs, exp(−ηλ·steps)",
    own: "This optimizer: |factor|^steps", grows: "— (the weight grows)", never: "not within these steps",
    none: "none: Adam divides λw by its own size, so the weight moves about η per step whatever λ is",
    kinds: { shrinks: "shrinks every step", swings: "swings across zero", grows: "diverges: the weight grows",
             stays: "stays" },
    unused: "Adam's β1 is fixed at 0.9", code: "The code in each framework (rows measured in the rosetta chapter)",
    norow: "no measured way", plot: function (t, w) { return "The weight starts at 1 and is " + w + " after " + t + " steps"; },
    axis: "step", weight: "weight w", settings: "Settings"
  };

  /* decaylab.explorer.step_factor */
  function stepFactor(opt, lr, decay, mu) {
    if (opt === "adam") return { value: null, kind: "no factor" };
    var top, size, complex = false;
    if (opt === "sgdw" || opt === "adamw" || mu === 0) {
      top = 1 - lr * decay;
    } else {
      var b = 1 + mu - lr * decay, disc = b * b - 4 * mu;
      if (disc < 0) { complex = true; top = Math.sqrt(mu); }
      else {
        var r1 = (b + Math.sqrt(disc)) / 2, r2 = (b - Math.sqrt(disc)) / 2;
        top = Math.abs(r1) >= Math.abs(r2) ? r1 : r2;
      }
    }
    size = Math.abs(top);
    if (size > 1) return { value: top, kind: "grows" };
    if (!complex && top === 1) return { value: 1, kind: "stays" };
    if (complex) return { value: size, kind: "swings" };
    return { value: top, kind: top < 0 ? "swings" : "shrinks" };
  }

  /* decaylab.explorer.half_life */
  function halfLife(f) {
    if (f.value === null || f.kind === "grows") return null;
    if (f.value === 0) return 0;
    var size = Math.abs(f.value);
    return size === 1 ? Infinity : Math.LN2 / -Math.log(size);
  }

  /* decaylab.explorer.trajectory: decaylab.reference's step with a zero data gradient */
  function trajectory(opt, lr, decay, mu, steps, data) {
    var w = 1, path = [w], buf = null, m = 0, v = 0, b1 = data.betas[0], b2 = data.betas[1];
    var decoupled = opt === "sgdw" || opt === "adamw";
    for (var t = 1; t <= steps; t++) {
      var g = decoupled ? 0 : decay * w;
      if (decoupled) w = w * (1 - lr * decay);
      if (opt === "sgd" || opt === "sgdw") {
        buf = buf === null ? g : mu * buf + g;
        w = w - lr * buf;
      } else {
        m = b1 * m + (1 - b1) * g;
        v = b2 * v + (1 - b2) * g * g;
        var mHat = m / (1 - Math.pow(b1, t)), vHat = v / (1 - Math.pow(b2, t));
        w = w - lr * mHat / (Math.sqrt(vHat) + data.eps);
      }
      path.push(w);
    }
    return path;
  }

  /* decaylab.explorer.steps_to_half */
  function stepsToHalf(path) {
    var half = Math.abs(path[0]) / 2;
    for (var t = 0; t < path.length; t++) if (Math.abs(path[t]) <= half) return t;
    return null;
  }

  /* decaylab.explorer.arguments, from the indices of the sliders */
  function code(opt, iLr, iDecay, iMu, data) {
    var out = {}, rows = data.code[opt];
    Object.keys(rows).forEach(function (fw) {
      var template = rows[fw][0], scale = rows[fw][1];
      out[fw] = template.replace("{lr}", data.labels.lr[iLr])
        .replace("{mu}", iMu === null ? "0" : data.labels.momentum[iMu])
        .replace("{c}", data.scaled[scale][iDecay]);
    });
    return out;
  }

  /* decaylab.explorer.clock: ⌈N/B⌉ steps an epoch (the last, smaller batch is a step) */
  function clock(f, half, lr, decay, batch, n, epochs) {
    var perEpoch = Math.ceil(n / batch), steps = epochs * perEpoch;
    var tau = decay === 0 ? Infinity : 1 / (lr * decay);
    var own = f.value === null || f.kind === "grows" ? null : Math.pow(Math.abs(f.value), steps);
    return { stepsPerEpoch: perEpoch, steps: steps, tau: tau, tauEpochs: tau / perEpoch, halfLife: half,
             halfLifeEpochs: half === null ? null : half / perEpoch, shrink: Math.exp(-lr * decay * steps),
             factorShrink: own };
  }

  function compute(data, s) {
    var lr = data.choices.lr[s.lr], decay = data.choices.decay[s.decay];
    var adam = s.optimizer === "adam" || s.optimizer === "adamw";
    var mu = adam ? null : data.choices.momentum[s.momentum], steps = data.choices.steps[s.steps];
    var f = stepFactor(s.optimizer, lr, decay, mu), path = trajectory(s.optimizer, lr, decay, mu, steps, data);
    var half = halfLife(f);
    return { factor: f.value, kind: f.kind, halfLife: half, path: path, stepsToHalf: stepsToHalf(path),
             code: code(s.optimizer, s.lr, s.decay, adam ? null : s.momentum, data),
             clock: clock(f, half, lr, decay, data.choices.batch[s.batch], data.choices.data[s.data],
                          data.choices.epochs[s.epochs]) };
  }

  var SUPERSCRIPT = { "-": "⁻", "0": "⁰", "1": "¹", "2": "²", "3": "³", "4": "⁴", "5": "⁵", "6": "⁶", "7": "⁷",
                      "8": "⁸", "9": "⁹" };
  function fmt(x) {
    if (x === null) return "—";
    if (!isFinite(x)) return "∞";
    if (Math.abs(x) >= 1e5 || (x !== 0 && Math.abs(x) < 1e-4)) {
      var parts = x.toExponential(2).split("e");
      var exponent = String(Number(parts[1])).replace(/./g, function (c) { return SUPERSCRIPT[c]; });
      return parts[0] + "×10" + exponent;
    }
    var text = String(Number(x.toPrecision(Math.abs(x) > 0.99 && Math.abs(x) < 1 ? 8 : 4)));
    return /^-?\d+$/.test(text) ? whole(text) : text;
  }
  /* a whole number as decaylab.explorer labels it ("60,000") */
  function whole(n) { return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ","); }
  /* a time in steps, and in epochs */
  function both(steps, perEpoch) {
    if (steps === null) return "—";
    return fmt(steps) + T.steps_unit + " = " + fmt(steps / perEpoch) + T.epochs_unit;
  }

  var SVG = "http://www.w3.org/2000/svg";
  function el(tag, attrs, parent, ns) {
    var node = ns ? document.createElementNS(SVG, tag) : document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (parent) parent.appendChild(node);
    return node;
  }

  function draw(svg, path) {
    while (svg.firstChild) svg.removeChild(svg.firstChild);
    // on a narrow screen (a phone) the picture is scaled down: draw its words twice as large
    var narrow = svg.getBoundingClientRect().width < 480, fs = narrow ? 26 : 13;
    var W = 600, H = narrow ? 300 : 240, L = narrow ? 112 : 52, R = 12, TOP = 16, B = narrow ? 52 : 34;
    var n = path.length - 1;
    svg.setAttribute("viewBox", "0 0 " + W + " " + H);
    svg.setAttribute("class", "decay-explorer-plot" + (narrow ? " decay-explorer-narrow" : ""));
    var lo = Math.min(0, Math.min.apply(null, path)), hi = Math.max(1, Math.max.apply(null, path));
    function x(t) { return L + (W - L - R) * t / n; }
    function y(w) { return TOP + (H - TOP - B) * (hi - w) / (hi - lo); }
    el("line", { x1: L, x2: W - R, y1: y(0), y2: y(0), "class": "axis-zero" }, svg, true);
    el("line", { x1: L, x2: L, y1: TOP, y2: H - B, "class": "axis" }, svg, true);
    el("line", { x1: L, x2: W - R, y1: H - B, y2: H - B, "class": "axis" }, svg, true);
    [[hi, fmt(hi)], [0, "0"], [lo, lo === 0 ? null : fmt(lo)], [0.5, "½"]].forEach(function (tick) {
      if (tick[1] === null || tick[0] > hi || tick[0] < lo) return;
      el("text", { x: L - 6, y: y(tick[0]) + fs * 0.35, "text-anchor": "end" }, svg, true).textContent = tick[1];
    });
    el("text", { x: L, y: H - B + fs + 8, "text-anchor": "start" }, svg, true).textContent = "0";
    el("text", { x: W - R, y: H - B + fs + 8, "text-anchor": "end" }, svg, true).textContent = whole(n) + " " + T.axis;
    el("line", { x1: L, x2: W - R, y1: y(0.5), y2: y(0.5), "class": "axis-half" }, svg, true);
    // all the points up to 1,200 steps; beyond, 600 buckets, each drawn by its smallest and
    // largest weight in the order they occur, so that swings stay visible
    var points = [];
    if (n <= 1200) {
      for (var t = 0; t <= n; t++) points.push(x(t) + "," + y(path[t]));
    } else {
      for (var k = 0; k < 600; k++) {
        var a = Math.floor(k * n / 600), b = Math.floor((k + 1) * n / 600), lo_t = a, hi_t = a;
        for (var u = a; u <= b; u++) {
          if (path[u] < path[lo_t]) lo_t = u;
          if (path[u] > path[hi_t]) hi_t = u;
        }
        var first = Math.min(lo_t, hi_t), second = Math.max(lo_t, hi_t);
        points.push(x(first) + "," + y(path[first]));
        points.push(x(second) + "," + y(path[second]));
      }
    }
    el("polyline", { points: points.join(" "), "class": "trajectory" }, svg, true);
  }

  function slider(form, name, label, values, start) {
    var id = "decay-explorer-" + name, row = el("div", { "class": "decay-explorer-row" }, form);
    el("label", { "for": id }, row).textContent = label;
    var input = el("input", { type: "range", id: id, name: name, min: 0, max: values.length - 1, step: 1,
                              value: start }, row);
    var out = el("output", { "for": id }, row);
    return { input: input, out: out, values: values };
  }

  function setup(root) {
    var data = JSON.parse(root.querySelector("script.decay-explorer-data").textContent);
    var form = el("form", { "class": "decay-explorer-form", "aria-label": T.settings });
    var selRow = el("div", { "class": "decay-explorer-row" }, form);
    el("label", { "for": "decay-explorer-optimizer" }, selRow).textContent = T.optimizer;
    var select = el("select", { id: "decay-explorer-optimizer", name: "optimizer" }, selRow);
    Object.keys(data.code).forEach(function (opt) {
      el("option", { value: opt }, select).textContent = T.names[opt];
    });
    select.value = "sgd";
    var s = {
      lr: slider(form, "lr", T.lr, data.labels.lr, data.labels.lr.indexOf("0.1")),
      decay: slider(form, "decay", T.decay, data.labels.decay, data.labels.decay.indexOf("0.01")),
      momentum: slider(form, "momentum", T.momentum, data.labels.momentum, data.labels.momentum.indexOf("0.9")),
      steps: slider(form, "steps", T.steps, data.labels.steps, data.labels.steps.indexOf("1,000"))
    };
    var run = el("fieldset", { "class": "decay-explorer-run" }, form);
    el("legend", {}, run).textContent = T.run;
    s.batch = slider(run, "batch", T.batch, data.labels.batch, data.labels.batch.indexOf("128"));
    s.data = slider(run, "data", T.data, data.labels.data, data.labels.data.indexOf("60,000"));
    s.epochs = slider(run, "epochs", T.epochs, data.labels.epochs, data.labels.epochs.indexOf("10"));
    var results = el("dl", { "class": "decay-explorer-results", "aria-live": "polite" });
    var svg = el("svg", { viewBox: "0 0 600 240", role: "img", "class": "decay-explorer-plot" }, null, true);
    var codeBox = el("div", { "class": "decay-explorer-code" });
    root.appendChild(form); root.appendChild(results); root.appendChild(svg); root.appendChild(codeBox);

    function update() {
      var adam = select.value === "adam" || select.value === "adamw";
      s.momentum.input.disabled = adam;
      var setting = { optimizer: select.value };
      Object.keys(s).forEach(function (k) {
        setting[k] = Number(s[k].input.value);
        var text = k === "momentum" && adam ? "0.9 (" + T.unused + ")" : s[k].values[setting[k]];
        s[k].out.textContent = text;
        s[k].input.setAttribute("aria-valuetext", text);
      });
      var r = compute(data, setting), end = r.path[r.path.length - 1], c = r.clock;
      var rows = [
        [T.factor, r.factor === null ? T.none : fmt(r.factor) + " (" + T.kinds[r.kind] + ")"],
        [T.half, both(r.halfLife, c.stepsPerEpoch)],
        [T.tau, both(c.tau, c.stepsPerEpoch)],
        [T.reached, r.stepsToHalf === null ? T.never : r.stepsToHalf + T.steps_unit],
        [T.after, fmt(end)],
        [T.total, s.epochs.values[setting.epochs] + " × ⌈" + s.data.values[setting.data] + "/" +
                  s.batch.values[setting.batch] + "⌉ = " + s.epochs.values[setting.epochs] + " × " +
                  whole(c.stepsPerEpoch) + " = " + whole(c.steps) + T.steps_unit],
        [T.shrink, fmt(c.shrink) + " = exp(−" +
                   fmt(data.choices.lr[setting.lr] * data.choices.decay[setting.decay] * c.steps) + ")"],
        [T.own, c.factorShrink !== null ? fmt(c.factorShrink) : r.factor === null ? "—" : T.grows]
      ];
      results.textContent = "";
      rows.forEach(function (row) {
        el("dt", {}, results).textContent = row[0];
        el("dd", {}, results).textContent = row[1];
      });
      svg.setAttribute("aria-label", T.plot(r.path.length - 1, fmt(end)));
      draw(svg, r.path);
      codeBox.textContent = "";
      el("p", {}, codeBox).textContent = T.code;
      ["PyTorch", "Paddle", "Keras 3"].forEach(function (fw) {
        el("p", { "class": "decay-explorer-fw" }, codeBox).textContent = fw;
        if (r.code[fw]) el("code", {}, el("pre", {}, codeBox)).textContent = r.code[fw];
        else el("p", { "class": "decay-explorer-none" }, codeBox).textContent = T.norow;
      });
    }
    form.addEventListener("input", update);
    window.addEventListener("resize", update);
    form.addEventListener("change", update);
    form.addEventListener("submit", function (event) { event.preventDefault(); });
    update();
    window.decayExplorer = { compute: function (setting) { return compute(data, setting); }, data: data };
  }

  function start() {
    Array.prototype.forEach.call(document.querySelectorAll("div.decay-explorer"), setup);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
