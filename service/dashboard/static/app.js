// The vpo-rewards dashboard: plain JavaScript and SVG, no dependencies (works offline).
// Every text from the service (prompts, answers, scorer names) is set with textContent, never as HTML.
"use strict";

const SVG = "http://www.w3.org/2000/svg";
const PALETTE = ["#2f6fde", "#e08a1e", "#2a9d5b", "#c33d5b", "#8a55c9", "#1b9aaa", "#b5892f", "#5f6b7a",
                 "#d45fa6", "#6a8f2e"];
const TOKEN_KEY = "vpo-rewards-token";
const MAX_ROWS = 150;  // answers drawn in the heatmap and the winner plot (a group may have thousands)
const MAX_COLS = 100;  // components drawn in the heatmap
const state = { group: null, selectedAnswer: null, stats: null, token: sessionStorage.getItem(TOKEN_KEY) };

// ------------------------------------------------------------------------------------------ API
class ApiError extends Error {
  constructor(status, body) {
    const error = (body && body.error) || {};
    super(error.message || `HTTP ${status}`);
    this.status = status;
    this.code = error.code;
  }
}

let tokenWaiters = null;

function askToken() {
  if (!tokenWaiters) {
    tokenWaiters = [];
    const dialog = document.getElementById("token-dialog");
    dialog.showModal();
  }
  return new Promise((resolve) => tokenWaiters.push(resolve));
}

document.getElementById("token-form").addEventListener("submit", () => {
  state.token = document.getElementById("token-input").value.trim() || null;
  if (state.token) sessionStorage.setItem(TOKEN_KEY, state.token);
  const waiters = tokenWaiters || [];
  tokenWaiters = null;
  waiters.forEach((resolve) => resolve());
});
document.getElementById("token-button").addEventListener("click", () => askToken());

async function api(path, options = {}, retried = false) {
  const headers = Object.assign({ "Accept": "application/json" }, options.headers || {});
  if (state.token) headers["Authorization"] = `Bearer ${state.token}`;
  if (options.body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(path, Object.assign({}, options, { headers }));
  let body = null;
  try { body = await response.json(); } catch (_) { body = null; }
  if (response.status === 401 && !retried) {
    await askToken();
    return api(path, options, true);
  }
  if (!response.ok) throw new ApiError(response.status, body);
  return body;
}

// ------------------------------------------------------------------------------------------ SVG helpers
function el(name, attrs = {}, parent = null) {
  const node = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
  if (parent) parent.appendChild(node);
  return node;
}

function text(parent, x, y, content, attrs = {}) {
  const node = el("text", Object.assign({ x, y }, attrs), parent);
  node.textContent = content;
  return node;
}

function titled(node, content) {
  const title = el("title", {}, node);
  title.textContent = content;
  return node;
}

function clear(svg, width, height) {
  while (svg.firstChild) svg.removeChild(svg.firstChild);
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  svg.setAttribute("width", width);
  svg.setAttribute("height", height);
}

function fmt(value, digits = 3) {
  return value === null || value === undefined ? "null" : Number(value).toFixed(digits);
}

function answerLabel(answer) {
  return `c${answer.completion}·a${answer.answer}`;
}

function colorOf(index) {
  return PALETTE[index % PALETTE.length];
}

function heat(value, low, high) {
  if (value === null) return "#cfd3da";
  const t = high > low ? (value - low) / (high - low) : 0.5;
  const mix = (a, b) => Math.round(a + (b - a) * t);
  return `rgb(${mix(247, 24)},${mix(251, 82)},${mix(255, 171)})`;
}

// ------------------------------------------------------------------------------------------ charts
function drawHeatmap(group) {
  const svg = document.getElementById("heatmap");
  const rows = Math.min(group.rewards.length, MAX_ROWS);
  const cols = Math.min(group.components.length, MAX_COLS);
  const shown = group.rewards.slice(0, rows).map((row) => row.slice(0, cols));
  const note = document.getElementById("heatmap-note");
  note.hidden = rows === group.rewards.length && cols === group.components.length;
  note.textContent = `showing the first ${rows} of ${group.rewards.length} answers and ${cols} of ` +
    `${group.components.length} components`;
  const labelW = 64;
  const headerH = 74;
  const cell = Math.max(12, Math.min(46, Math.floor(560 / Math.max(cols, 1))));
  const rowH = Math.max(14, Math.min(28, Math.floor(520 / Math.max(rows, 1))));
  clear(svg, labelW + cols * cell + 60, headerH + rows * rowH + 4);  // room for the last rotated header
  const values = shown.flat().filter((v) => v !== null);
  const low = values.reduce((a, b) => Math.min(a, b), values.length ? Infinity : 0);
  const high = values.reduce((a, b) => Math.max(a, b), values.length ? -Infinity : 1);
  group.components.slice(0, cols).forEach((name, j) => {
    const x = labelW + j * cell + cell / 2;
    titled(text(svg, x, headerH - 6, name.length > 14 ? name.slice(0, 13) + "…" : name,
                { transform: `rotate(-50 ${x} ${headerH - 6})` }), name);
  });
  shown.forEach((row, i) => {
    const y = headerH + i * rowH;
    const answer = group.answers[i];
    const label = text(svg, 2, y + rowH * 0.7, answerLabel(answer), {
      class: "row-label" + (state.selectedAnswer === i ? " selected" : ""), "data-answer": i,
    });
    label.addEventListener("click", () => showAnswer(i));
    row.forEach((value, j) => {
      const rect = el("rect", {
        class: "cell", x: labelW + j * cell, y, width: cell, height: rowH, fill: heat(value, low, high),
        "data-answer": i, "data-component": j,
      }, svg);
      titled(rect, `${answerLabel(answer)} · ${group.components[j]}: ${fmt(value)}`);
      rect.addEventListener("click", () => showAnswer(i));
      if (cell >= 34 && rowH >= 14) {
        text(svg, labelW + j * cell + cell / 2, y + rowH * 0.68, value === null ? "–" : fmt(value, 2),
             { "text-anchor": "middle", "font-size": 10, "pointer-events": "none" });
      }
    });
  });
}

function showAnswer(index) {
  state.selectedAnswer = index;
  const pre = document.getElementById("answer-text");
  const answer = state.group.answers[index];
  pre.hidden = false;
  pre.textContent = `${answerLabel(answer)} (completion ${answer.completion}, answer ${answer.answer})\n\n${answer.text}`;
  document.querySelectorAll("#heatmap .row-label").forEach((node) => {
    node.classList.toggle("selected", Number(node.getAttribute("data-answer")) === index);
  });
}

function drawAdvantages(group) {
  const svg = document.getElementById("advantages");
  const n = group.advantages.length;
  const width = 480;
  const barW = Math.max(3, Math.min(18, Math.floor((width - 60) / Math.max(n, 1) / 2.4)));
  const slot = barW * 2.4;
  const height = 200;
  const mid = height / 2;
  clear(svg, Math.max(width, 50 + n * slot), height + 16);
  const largest = group.advantages.concat(group.scalar_advantages).reduce((a, b) => Math.max(a, Math.abs(b)), 0);
  const scale = (mid - 10) / Math.max(1e-9, largest);
  el("line", { x1: 40, x2: 40 + n * slot, y1: mid, y2: mid, stroke: "#9aa3b2" }, svg);
  text(svg, 2, 14, fmt(largest, 2));
  text(svg, 2, mid + 4, "0");
  group.advantages.forEach((vpo, g) => {
    const scalar = group.scalar_advantages[g];
    const x = 44 + g * slot;
    [[vpo, "adv-vpo", "VPO"], [scalar, "adv-scalar", "scalar"]].forEach(([value, cls, name], k) => {
      const h = Math.abs(value) * scale;
      titled(el("rect", { class: cls, x: x + k * barW, y: value >= 0 ? mid - h : mid, width: barW - 1,
                          height: Math.max(h, 0.5), "data-completion": g }, svg),
             `completion ${g}: ${name} advantage ${fmt(value)}`);
    });
    if (n <= 32) text(svg, x + barW - 3, height + 12, String(g), { "font-size": 10 });
  });
}

function drawWinners(group) {
  const svg = document.getElementById("winners");
  const n = Math.min(group.wins.length, MAX_ROWS);
  const rowH = Math.max(12, Math.min(22, Math.floor(440 / Math.max(n, 1))));
  const width = 460;
  const labelW = 64;
  clear(svg, width, n * rowH + 6);
  group.wins.slice(0, n).forEach((share, i) => {
    const y = i * rowH + 2;
    text(svg, 2, y + rowH * 0.72, answerLabel(group.answers[i]));
    el("rect", { class: "win-track", x: labelW, y, width: width - labelW - 60, height: rowH - 3, fill: "#eef0f4" }, svg);
    titled(el("rect", { class: "win-bar", x: labelW, y, width: Math.max(0, share) * (width - labelW - 60),
                        height: rowH - 3, fill: colorOf(i), "data-answer": i }, svg),
           `${answerLabel(group.answers[i])} wins ${(share * 100).toFixed(1)}% of the weightings` +
           (group.pareto && group.pareto[i] ? " (Pareto-optimal)" : ""));
    text(svg, width - 54, y + rowH * 0.72, `${(share * 100).toFixed(1)}%`);
  });
}

// the answer that scores highest under weighting w (ties to the first); -1 when none is complete
function winnerAt(rows, w) {
  let best = -1;
  let bestScore = -Infinity;
  rows.forEach((row, i) => {
    if (row.some((v) => v === null)) return;
    const score = row.reduce((sum, v, j) => sum + v * w[j], 0);
    if (score > bestScore) { best = i; bestScore = score; }
  });
  return best;
}

function drawSimplex(group) {
  const figure = document.getElementById("simplex-figure");
  const svg = document.getElementById("simplex");
  const d = group.components.length;
  if (d !== 2 && d !== 3) {
    figure.hidden = true;
    return;
  }
  figure.hidden = false;
  const rows = group.weighed_rewards;
  if (d === 2) {
    const cells = 100;
    const width = 460;
    clear(svg, width, 70);
    for (let c = 0; c < cells; c++) {
      const t = (c + 0.5) / cells;
      const winner = winnerAt(rows, [1 - t, t]);
      titled(el("rect", { class: "simplex-cell", x: 10 + c * (width - 20) / cells, y: 10,
                          width: (width - 20) / cells + 0.5, height: 30,
                          fill: winner < 0 ? "#cfd3da" : colorOf(winner), "data-winner": winner }, svg),
             `w = (${(1 - t).toFixed(2)}, ${t.toFixed(2)}): ${winner < 0 ? "none" : answerLabel(group.answers[winner])}`);
    }
    text(svg, 10, 58, `all ${group.components[0]}`);
    text(svg, width - 10, 58, `all ${group.components[1]}`, { "text-anchor": "end" });
    return;
  }
  const n = 24;
  const side = 400;
  const h = side * Math.sqrt(3) / 2;
  const ox = 30;
  const oy = 20;
  clear(svg, side + 2 * ox, h + 2 * oy + 16);
  // barycentric (w0, w1, w2) -> plane: w0 at bottom left, w1 at bottom right, w2 at the top
  const point = (a, b) => {
    const w1 = a / n;
    const w2 = b / n;
    return [ox + side * (w1 + w2 / 2), oy + h * (1 - w2)];
  };
  const triangle = (corners) => {
    const centroid = [0, 0];
    corners.forEach(([a, b]) => { centroid[0] += a / 3; centroid[1] += b / 3; });
    const w = [1 - (centroid[0] + centroid[1]) / n, centroid[0] / n, centroid[1] / n];
    const winner = winnerAt(rows, w);
    const points = corners.map(([a, b]) => point(a, b).map((v) => v.toFixed(2)).join(",")).join(" ");
    titled(el("polygon", { class: "simplex-cell", points, fill: winner < 0 ? "#cfd3da" : colorOf(winner),
                           stroke: winner < 0 ? "#cfd3da" : colorOf(winner), "stroke-width": 0.5,
                           "data-winner": winner }, svg),
           `w = (${w.map((v) => v.toFixed(2)).join(", ")}): ${winner < 0 ? "none" : answerLabel(group.answers[winner])}`);
  };
  for (let a = 0; a < n; a++) {
    for (let b = 0; a + b < n; b++) {
      triangle([[a, b], [a + 1, b], [a, b + 1]]);
      if (a + b + 1 < n) triangle([[a + 1, b], [a + 1, b + 1], [a, b + 1]]);
    }
  }
  text(svg, ox - 20, oy + h + 14, group.components[0]);
  text(svg, ox + side + 20, oy + h + 14, group.components[1], { "text-anchor": "end" });
  text(svg, ox + side / 2, oy - 6, group.components[2], { "text-anchor": "middle" });
}

function drawPareto(group) {
  const svg = document.getElementById("pareto");
  const selectX = document.getElementById("pareto-x");
  const selectY = document.getElementById("pareto-y");
  const d = group.components.length;
  const x = Math.min(Number(selectX.value || 0), d - 1);
  const y = d > 1 ? Math.min(Number(selectY.value || 1), d - 1) : x;
  const size = 260;
  const pad = 36;
  clear(svg, size + pad + 12, size + pad);
  const xs = group.rewards.map((row) => row[x]).filter((v) => v !== null);
  const ys = group.rewards.map((row) => row[y]).filter((v) => v !== null);
  const range = (values) => {
    const low = values.reduce((a, b) => Math.min(a, b), values.length ? Infinity : 0);
    const high = values.reduce((a, b) => Math.max(a, b), values.length ? -Infinity : 1);
    return high > low ? [low, high] : [low - 0.5, high + 0.5];
  };
  const [x0, x1] = range(xs);
  const [y0, y1] = range(ys);
  const px = (v) => pad + ((v - x0) / (x1 - x0)) * (size - 20) + 6;
  const py = (v) => size - 6 - ((v - y0) / (y1 - y0)) * (size - 20);
  el("line", { x1: pad, x2: size + pad, y1: size, y2: size, stroke: "#9aa3b2" }, svg);
  el("line", { x1: pad, x2: pad, y1: 4, y2: size, stroke: "#9aa3b2" }, svg);
  text(svg, pad, size + 14, fmt(x0, 2));
  text(svg, size + pad, size + 14, fmt(x1, 2), { "text-anchor": "end" });
  text(svg, pad - 4, size - 2, fmt(y0, 2), { "text-anchor": "end" });
  text(svg, pad - 4, 14, fmt(y1, 2), { "text-anchor": "end" });
  text(svg, pad + size / 2, size + 28, group.components[x], { "text-anchor": "middle" });
  group.rewards.forEach((row, i) => {
    if (row[x] === null || row[y] === null) return;
    const optimal = Boolean(group.pareto && group.pareto[i]);
    const circle = el("circle", {
      class: "pareto-point" + (optimal ? " optimal" : ""), cx: px(row[x]).toFixed(2),
      cy: py(row[y]).toFixed(2), r: 6, fill: colorOf(i), "data-answer": i,
    }, svg);
    titled(circle, `${answerLabel(group.answers[i])}: (${fmt(row[x])}, ${fmt(row[y])})` +
                   (optimal ? ", Pareto-optimal over all components" : ""));
    circle.addEventListener("click", () => showAnswer(i));
  });
}

function fillSelect(select, names, chosen) {
  select.replaceChildren();
  names.forEach((name, j) => {
    const option = document.createElement("option");
    option.value = String(j);
    option.textContent = name;
    select.appendChild(option);
  });
  select.value = String(Math.min(chosen, names.length - 1));
}

function renderGroup(group) {
  state.group = group;
  state.selectedAnswer = null;
  document.getElementById("group").hidden = false;
  document.getElementById("group-id").textContent = group.id;
  document.getElementById("group-prompt").textContent = group.prompt || "(empty prompt)";
  document.getElementById("group-meta").textContent =
    `${new Date(group.time * 1000).toLocaleString()} · ${group.completions} completions · ` +
    `${group.answers.length} answers · d = ${group.components.length} · scorers ${group.scorers.join(", ")} · ` +
    `estimator ${group.estimator.name} · request ${group.request_id || "–"}`;
  document.getElementById("num-weights").textContent = String(group.num_weights);
  document.getElementById("answer-text").hidden = true;
  fillSelect(document.getElementById("pareto-x"), group.components, 0);
  fillSelect(document.getElementById("pareto-y"), group.components, 1);
  const errors = document.getElementById("group-errors");
  errors.replaceChildren();
  group.errors.forEach((error) => {
    const item = document.createElement("li");
    item.textContent = `${error.scorer}: ${error.reason}: ${error.message}`;
    errors.appendChild(item);
  });
  if (!group.errors.length) {
    const item = document.createElement("li");
    item.className = "hint";
    item.textContent = "none";
    errors.appendChild(item);
  }
  drawHeatmap(group);
  drawAdvantages(group);
  drawWinners(group);
  drawSimplex(group);
  drawPareto(group);
  document.querySelectorAll("#recent li").forEach((item) => {
    item.classList.toggle("selected", item.dataset.id === group.id);
  });
}

["pareto-x", "pareto-y"].forEach((id) => {
  document.getElementById(id).addEventListener("change", () => state.group && drawPareto(state.group));
});

async function openGroup(id) {
  renderGroup(await api(`v1/dashboard/groups/${encodeURIComponent(id)}`));
}

// ------------------------------------------------------------------------------------------ recent + live
async function refreshRecent() {
  const data = await api("v1/dashboard/groups?limit=50");
  const list = document.getElementById("recent");
  document.getElementById("recent-empty").hidden = data.groups.length > 0;
  list.replaceChildren();
  data.groups.forEach((group) => {
    const item = document.createElement("li");
    item.dataset.id = group.id;
    if (state.group && state.group.id === group.id) item.className = "selected";
    const prompt = document.createElement("span");
    prompt.className = "prompt";
    prompt.textContent = group.prompt || "(empty prompt)";
    const sub = document.createElement("span");
    sub.className = "sub";
    sub.textContent = `${new Date(group.time * 1000).toLocaleTimeString()} · ${group.completions}×, ` +
      `${group.answers} answers, d=${group.components} · best ${fmt(group.best_set_score, 2)}` +
      (group.errors ? ` · ${group.errors} errors` : "");
    item.append(prompt, sub);
    item.addEventListener("click", () => openGroup(group.id).catch(showError));
    list.appendChild(item);
  });
}

function quantile(buckets, previous, q) {
  const counts = buckets.map(([bound, count], k) => [bound, count - (previous ? previous[k][1] : 0)]);
  const total = counts.length ? counts[counts.length - 1][1] : 0;
  if (total <= 0) return null;
  const found = counts.find(([, count]) => count >= q * total);
  return found ? found[0] : null;
}

async function refreshStats() {
  const stats = await api("v1/dashboard/stats");
  const before = state.stats;
  state.stats = stats;
  const set = (id, value) => { document.getElementById(id).textContent = value; };
  if (!before) {
    set("live-hits", stats.cache_hits + stats.cache_misses ?
        `${(100 * stats.cache_hits / (stats.cache_hits + stats.cache_misses)).toFixed(0)}%` : "–");
    set("live-errors", String(stats.errors));
    return;
  }
  const dt = Math.max(1e-3, stats.time - before.time);
  const requests = stats.requests - before.requests;
  set("live-rps", (requests / dt).toFixed(1));
  set("live-mean", requests > 0 ? (1000 * (stats.latency_sum_s - before.latency_sum_s) / requests).toFixed(1) : "–");
  const p50 = quantile(stats.latency_buckets, before.latency_buckets.length === stats.latency_buckets.length ?
                       before.latency_buckets : null, 0.5);
  set("live-latency", requests > 0 && p50 !== null ? `≤${(p50 * 1000).toFixed(p50 < 0.01 ? 1 : 0)}` : "–");
  const hits = stats.cache_hits - before.cache_hits;
  const lookups = hits + stats.cache_misses - before.cache_misses;
  set("live-hits", lookups > 0 ? `${(100 * hits / lookups).toFixed(0)}%` : "–");
  set("live-errors", String(stats.errors));
}

function showError(error) {
  const message = document.getElementById("form-message");
  message.className = "error";
  message.textContent = error.message;
}

// ------------------------------------------------------------------------------------------ form
function parseJSON(field, fallback) {
  const raw = document.getElementById(field).value.trim();
  if (!raw) return fallback;
  try {
    return JSON.parse(raw);
  } catch (error) {
    throw new Error(`${field.replace("form-", "")}: not JSON (${error.message})`);
  }
}

document.getElementById("score-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const message = document.getElementById("form-message");
  message.className = "";
  message.textContent = "Scoring…";
  try {
    const completions = document.getElementById("form-completions").value
      .split(/\r?\n---\r?\n/).map((c) => c.trim()).filter((c) => c.length);
    if (!completions.length) throw new Error("give at least one completion");
    const body = {
      prompt: document.getElementById("form-prompt").value,
      completions,
      scorers: parseJSON("form-scorers", []),
      split: parseJSON("form-split", {}),
      estimator: parseJSON("form-estimator", {}),
    };
    const requestId = "dashboard-" + Math.random().toString(16).slice(2) + Date.now().toString(16);
    const result = await api("v1/score", { method: "POST", body: JSON.stringify(body),
                                           headers: { "X-Request-ID": requestId } });
    message.textContent = `Scored: set scores ${result.set_scores.map((s) => fmt(s, 2)).join(", ")}`;
    const found = await api(`v1/dashboard/groups?limit=1&request_id=${encodeURIComponent(requestId)}`);
    if (found.groups.length) await openGroup(found.groups[0].id);
    refreshRecent().catch(() => {});
  } catch (error) {
    showError(error);
  }
});

// ------------------------------------------------------------------------------------------ start
async function poll() {
  try {
    await Promise.all([refreshRecent(), refreshStats()]);
  } catch (error) {
    if (!(error instanceof ApiError && error.status === 401)) showError(error);
  }
}

poll();
setInterval(poll, 3000);
