(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("nel-report-data").textContent);
  var COL = {};
  data.sample_columns.forEach(function (name, i) { COL[name] = i; });
  var PAGE = 200;
  var SVGNS = "http://www.w3.org/2000/svg";

  function el(tag, props) {
    var node = document.createElement(tag);
    if (props) {
      Object.keys(props).forEach(function (key) {
        if (key === "text") node.textContent = props[key];
        else if (key === "cls") node.className = props[key];
        else node.setAttribute(key, props[key]);
      });
    }
    for (var i = 2; i < arguments.length; i++) {
      var child = arguments[i];
      if (child === null || child === undefined) continue;
      node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
    }
    return node;
  }
  function svg(tag, attrs) {
    var node = document.createElementNS(SVGNS, tag);
    Object.keys(attrs || {}).forEach(function (key) { node.setAttribute(key, attrs[key]); });
    return node;
  }
  function num(value, digits) {
    return value === null || value === undefined ? "" : Number(value).toFixed(digits === undefined ? 3 : digits);
  }
  function count(value) { return value === null || value === undefined ? "" : Number(value).toLocaleString("en-US"); }
  function duration(seconds) {
    if (seconds === null || seconds === undefined) return "";
    if (seconds < 60) return seconds.toFixed(1) + " s";
    var minutes = Math.floor(seconds / 60);
    if (minutes < 60) return minutes + " min " + Math.round(seconds % 60) + " s";
    return Math.floor(minutes / 60) + " h " + (minutes % 60) + " min";
  }
  function when(stamp) {
    if (!stamp) return "";
    var d = new Date(stamp * 1000);
    return d.toISOString().replace("T", " ").slice(0, 16) + " UTC";
  }
  var jobsByRunTask = {};
  data.jobs.forEach(function (job) { jobsByRunTask[job.run + "\u0000" + job.task] = job; });
  function jobOf(run, task) { return jobsByRunTask[run + "\u0000" + task]; }

  function renderRuns() {
    var head = el("tr", null, el("th", { text: "" }));
    data.runs.forEach(function (run) { head.appendChild(el("th", { text: run.id })); });
    var rows = [
      ["model", function (r) { return r.model; }],
      ["executor", function (r) { return r.executor; }],
      ["launched", function (r) { return when(r.created_at); }],
      ["jobs", function (r) { return r.jobs + " (" + r.succeeded + " succeeded, " + r.failed + " failed)"; }],
      ["duration", function (r) { return duration(r.duration_s); }],
      ["tokens", function (r) { return count(r.tokens); }],
      ["requests", function (r) { return count(r.requests); }],
      ["failed requests (endpoint)", function (r) { return count(r.failed_requests); }, "infra"],
      ["samples", function (r) { return count(r.samples); }],
      ["read from", function (r) { return r.source; }]
    ];
    var body = el("tbody");
    rows.forEach(function (row) {
      var tr = el("tr", null, el("th", { text: row[0] }));
      data.runs.forEach(function (run) {
        var value = row[1](run);
        var cell = el("td", { text: value === undefined ? "" : String(value) });
        if (row[2] && run.failed_requests) cell.className = row[2];
        tr.appendChild(cell);
      });
      body.appendChild(tr);
    });
    document.getElementById("runs-table").append(el("thead", null, head), body);
  }

  function scoreCell(metric, run) {
    var job = jobOf(run.id, metric.task);
    var cell = el("td", { cls: "num" });
    var point = metric.values[run.id];
    if (point) {
      cell.appendChild(document.createTextNode(num(point.value)));
      if (point.low !== null && point.high !== null) {
        cell.appendChild(el("span", { cls: "ci", text: " [" + num(point.low) + ", " + num(point.high) + "]" }));
      }
    }
    if (job && job.state !== "success") {
      cell.appendChild(el("div", { cls: "state-" + job.state, text: job.state, title: job.reason }));
    }
    if (job && job.failed_requests) {
      var noun = job.failed_requests === 1 ? " failed request" : " failed requests";
      cell.appendChild(el("div", { cls: "infra", text: job.failed_requests + noun, title: job.request_error }));
    }
    return cell;
  }

  function renderScores() {
    var head = el("tr", null, el("th", { text: "task" }), el("th", { text: "score" }));
    data.runs.forEach(function (run) { head.appendChild(el("th", { text: run.id + (run.model ? " (" + run.model + ")" : "") })); });
    var body = el("tbody");
    data.metrics.forEach(function (metric) {
      var tr = el("tr", { "data-metric": metric.key }, el("td", { text: metric.task }), el("td", { text: metric.key }));
      data.runs.forEach(function (run) { tr.appendChild(scoreCell(metric, run)); });
      body.appendChild(tr);
    });
    // A task no run scored (every job of it failed) still gets a row, saying why.
    var scoredTasks = {};
    data.metrics.forEach(function (metric) { scoredTasks[metric.task] = true; });
    data.jobs.forEach(function (job) {
      if (job.scores.length || scoredTasks[job.task]) return;
      var tr = el("tr", null, el("td", { text: job.task }), el("td", { cls: "empty", text: "no score" }));
      data.runs.forEach(function (run) {
        var cell = el("td");
        if (run.id === job.run) cell.appendChild(el("span", { cls: "state-" + job.state, text: job.state + (job.reason ? ": " + job.reason : "") }));
        tr.appendChild(cell);
      });
      body.appendChild(tr);
    });
    document.getElementById("scores-table").append(el("thead", null, head), body);
  }

  function chart(metric) {
    var width = 280, height = 150, left = 36, right = 30, top = 10, bottom = 28;
    var points = data.runs.map(function (run, i) { return { i: i, run: run, p: metric.values[run.id] }; })
      .filter(function (x) { return x.p && x.p.value !== null; });
    var lows = points.map(function (x) { return x.p.low === null ? x.p.value : x.p.low; });
    var highs = points.map(function (x) { return x.p.high === null ? x.p.value : x.p.high; });
    var min = Math.min.apply(null, lows.concat([0])), max = Math.max.apply(null, highs.concat([1]));
    if (max === min) max = min + 1;
    var n = Math.max(data.runs.length, 1);
    function x(i) { return left + (n === 1 ? (width - left - right) / 2 : i * (width - left - right) / (n - 1)); }
    function y(v) { return top + (max - v) * (height - top - bottom) / (max - min); }
    var root = svg("svg", { "class": "chart", width: width, height: height, viewBox: "0 0 " + width + " " + height, role: "img" });
    root.appendChild(svg("line", { "class": "axis", x1: left, y1: top, x2: left, y2: height - bottom }));
    root.appendChild(svg("line", { "class": "axis", x1: left, y1: height - bottom, x2: width - right, y2: height - bottom }));
    [min, max].forEach(function (v) {
      var label = svg("text", { x: left - 4, y: y(v) + 3, "text-anchor": "end" });
      label.textContent = num(v, 2);
      root.appendChild(label);
    });
    if (points.length > 1) {
      root.appendChild(svg("polyline", { "class": "line", points: points.map(function (p) { return x(p.i) + "," + y(p.p.value); }).join(" ") }));
    }
    points.forEach(function (p) {
      if (p.p.low !== null && p.p.high !== null) {
        root.appendChild(svg("line", { "class": "whisker", x1: x(p.i), x2: x(p.i), y1: y(p.p.low), y2: y(p.p.high) }));
      }
      var dot = svg("circle", { "class": "point", cx: x(p.i), cy: y(p.p.value), r: 3.5 });
      var title = svg("title");
      title.textContent = p.run.id + ": " + num(p.p.value) + (p.p.low !== null ? " [" + num(p.p.low) + ", " + num(p.p.high) + "]" : "");
      dot.appendChild(title);
      root.appendChild(dot);
    });
    data.runs.forEach(function (run, i) {
      var label = svg("text", { x: x(i), y: height - bottom + 14, "text-anchor": "middle" });
      label.textContent = run.id.length > 10 ? run.id.slice(0, 9) + "\u2026" : run.id;
      root.appendChild(label);
    });
    return el("figure", { cls: "chart", "data-metric": metric.key }, el("figcaption", { text: metric.task + " \u00b7 " + metric.key }), root);
  }

  function renderCharts() {
    var box = document.getElementById("charts");
    data.metrics.forEach(function (metric) { box.appendChild(chart(metric)); });
    if (!data.metrics.length) box.appendChild(el("p", { cls: "empty", text: "No scores to chart." }));
  }

  var state = { task: null, job: null, limit: PAGE };

  function tasks() {
    var seen = [];
    data.jobs.forEach(function (job) { if (seen.indexOf(job.task) < 0) seen.push(job.task); });
    return seen;
  }

  function renderTaskList() {
    var list = document.getElementById("task-list");
    tasks().forEach(function (task) {
      var counts = data.runs.map(function (run) {
        var job = jobOf(run.id, task);
        if (!job) return run.id + ": -";
        var s = job.samples;
        return run.id + ": " + s.correct + " right, " + s.wrong + " wrong, " + s.errors + " errors";
      }).join("; ");
      var button = el("button", { type: "button", "data-task": task }, task, el("span", { cls: "counts", text: counts }));
      button.addEventListener("click", function () { showTask(task); });
      list.appendChild(el("li", null, button));
    });
  }

  function showTask(task) {
    state.task = task;
    state.limit = PAGE;
    Array.prototype.forEach.call(document.querySelectorAll("#task-list button"), function (b) {
      b.classList.toggle("active", b.getAttribute("data-task") === task);
    });
    var select = document.getElementById("sample-run");
    select.textContent = "";
    data.runs.forEach(function (run) {
      var job = jobOf(run.id, task);
      if (job) select.appendChild(el("option", { value: job.id, text: run.id + " \u2014 " + job.id + " (" + job.state + ")" }));
    });
    state.job = select.value || null;
    document.getElementById("sample-task").textContent = task;
    document.getElementById("sample-panel").hidden = false;
    renderSamples();
  }

  function matches(row, filter, needle) {
    var outcome = row[COL.outcome];
    if (filter === "wrong" && outcome !== "wrong") return false;
    if (filter === "errors" && outcome !== "error") return false;
    if (filter === "correct" && outcome !== "correct") return false;
    if (!needle) return true;
    return ["id", "prompt", "response", "expected", "error", "subset"].some(function (name) {
      var value = row[COL[name]];
      return value !== null && String(value).toLowerCase().indexOf(needle) >= 0;
    });
  }

  // collapse: the longest text shown whole; longer ones fold, their summary the head (or, with
  // tail, the end: a few-shot prompt asks its question last).
  function textCell(value, collapse, tail) {
    var cell = el("td", { cls: "text" });
    if (value === null || value === undefined) return cell;
    if (collapse && value.length > collapse) {
      var summary = tail ? "\u2026" + value.slice(-collapse) : value.slice(0, collapse) + "\u2026";
      cell.appendChild(el("details", null, el("summary", { text: summary }), el("div", { text: value })));
    } else {
      cell.textContent = value;
    }
    return cell;
  }

  function renderSamples() {
    var job = data.jobs.filter(function (j) { return j.id === state.job; })[0];
    var rows = (job && data.samples[job.id]) || [];
    var filter = document.getElementById("sample-filter").value;
    var needle = document.getElementById("sample-search").value.trim().toLowerCase();
    var shown = rows.filter(function (row) { return matches(row, filter, needle); });
    var body = document.querySelector("#samples-table tbody");
    body.textContent = "";
    shown.slice(0, state.limit).forEach(function (row) {
      var outcome = row[COL.outcome];
      body.appendChild(el("tr", { cls: "sample", "data-outcome": outcome, "data-id": row[COL.id] },
        el("td", { text: row[COL.id] }),
        el("td", null, el("span", { cls: "badge outcome-" + outcome, text: outcome === "error" ? "request failed" : outcome })),
        el("td", { cls: "num", text: num(row[COL.score], 2) }),
        textCell(row[COL.expected], 0),
        textCell(row[COL.response], 160),
        textCell(row[COL.error], 160),
        textCell(row[COL.prompt], 60, true),
        el("td", { cls: "num", text: row[COL.latency_s] === null ? "" : num(row[COL.latency_s], 2) + " s" }),
        el("td", { cls: "num", text: count(row[COL.tokens]) })));
    });
    var info = job ? job.samples : null;
    var text = "showing " + Math.min(shown.length, state.limit) + " of " + shown.length + " matching, " + rows.length + " samples";
    if (job && !rows.length) text = "no samples kept for this job" + (info && info.count ? " (left out of this report)" : "");
    document.getElementById("sample-count").textContent = text;
    document.getElementById("sample-note").textContent = info && info.note ? info.note : "";
    document.getElementById("sample-more").hidden = shown.length <= state.limit;
  }

  function wire() {
    document.getElementById("sample-run").addEventListener("change", function (e) { state.job = e.target.value; state.limit = PAGE; renderSamples(); });
    document.getElementById("sample-filter").addEventListener("change", function () { state.limit = PAGE; renderSamples(); });
    document.getElementById("sample-search").addEventListener("input", function () { state.limit = PAGE; renderSamples(); });
    document.getElementById("sample-more").addEventListener("click", function () { state.limit += PAGE; renderSamples(); });
  }

  renderRuns();
  renderScores();
  renderCharts();
  renderTaskList();
  wire();
  var first = tasks()[0];
  if (first) showTask(first);
  document.body.setAttribute("data-ready", "true");
})();
