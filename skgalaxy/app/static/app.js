// The labelling page of an skgalaxy hunt. Plain JavaScript, no build step.
// Labels are always inserted as text (textContent), never as HTML.
"use strict";

const token = new URLSearchParams(location.search).get("token") || "";
let state = null;
let selected = 0;
let busy = false;
let view = "round";
let browsePage = 0;
let similarTo = null;  // the galaxy whose neighbours the browse view shows
let mapStale = true;
const SVG = "http://www.w3.org/2000/svg";

function api(path, options = {}) {
  const headers = { "X-Hunt-Token": token, ...(options.headers || {}) };
  return fetch(path, { ...options, headers }).then(async (response) => {
    const body = response.headers.get("content-type")?.includes("json") ? await response.json() : null;
    if (!response.ok) throw new Error(body?.detail || response.statusText);
    return body;
  });
}

function post(path, body) {
  return api(path, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
}

function setStatus(text, isBusy = false) {
  const status = document.getElementById("status");
  status.textContent = text;
  status.classList.toggle("busy", isBusy);
}

function imageUrl(index, size) {
  const query = new URLSearchParams({ token, stretch: document.getElementById("stretch").value });
  if (size) query.set("size", size);
  return `api/image/${index}.png?${query}`;
}

function svg(tag, attributes = {}, text = null) {
  const node = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, value);
  if (text !== null) node.textContent = text;
  return node;
}

// What a card says of a galaxy: its id (a link where the hunt has one), its
// score and the catalogue columns the hunt shows.
function cardHeader(item) {
  const title = element("h3");
  if (item.link) {
    title.append(element("a", { href: item.link, target: "_blank", rel: "noopener noreferrer" }, item.id));
  } else {
    title.textContent = item.id;
  }
  const fields = element("div", { class: "fields" });
  if (item.score !== null) {
    fields.append(element("span", { class: "score", title: state.score_source }, `score ${item.score.toFixed(3)}`));
  }
  for (const [name, value] of Object.entries(item.fields)) {
    fields.append(document.createTextNode(` · ${name} ${typeof value === "number" ? +value.toPrecision(6) : value}`));
  }
  return [title, fields];
}

function element(tag, attributes = {}, text = null) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, value);
  if (text !== null) node.textContent = text;
  return node;
}

function renderQueries() {
  const grid = document.getElementById("queries");
  grid.replaceChildren();
  document.getElementById("score-source").textContent = `Scores: ${state.score_source}.`;
  state.queries.forEach((query, position) => {
    const card = element("div", { class: "card", "data-index": query.index, tabindex: -1 });
    if (position === selected) card.classList.add("selected");
    if (query.label !== null) card.classList.add("saved");
    const image = element("img", { src: imageUrl(query.index), alt: `galaxy ${query.id}` });
    image.addEventListener("click", () => { selected = position; enlarge(); });
    const meta = element("div", { class: "meta" });
    meta.append(element("span", { class: "label" }, query.label === null ? "unlabelled" : query.label));
    const like = element("button", { title: "the galaxies most like this one (key m)" }, "m more like this");
    like.addEventListener("click", (event) => { event.stopPropagation(); showSimilar(query.index); });
    meta.append(like);
    const buttons = element("div", { class: "buttons" });
    state.classes.forEach((name, i) => {
      const key = name === "not interesting" ? "0" : String(i + 1);
      const button = element("button", { "data-label": name, title: `key ${key}` }, `${key} ${name}`);
      if (query.label === name) button.classList.add("chosen");
      button.addEventListener("click", () => { selected = position; label(name); });
      buttons.append(button);
    });
    const skip = element("button", { "data-label": "", title: "key s" }, "s skip");
    skip.addEventListener("click", () => { selected = position; label(null); });
    buttons.append(skip);
    card.append(image, ...cardHeader(query), meta, buttons);
    card.addEventListener("click", () => { selected = position; highlight(); });
    grid.append(card);
  });
}

// The browse view: a page of the ranked pool, or the galaxies like one.
async function renderBrowse() {
  const result = similarTo === null
    ? await api(`api/ranked?page=${browsePage}&per_page=40`)
    : await api(`api/similar/${similarTo}?k=40`);
  const title = document.getElementById("browse-title");
  if (similarTo === null) {
    const last = Math.min(result.total, (browsePage + 1) * result.per_page);
    title.textContent = `Ranked pool: ${browsePage * result.per_page + 1}–${last} of ${result.total}`;
  } else {
    title.textContent = `The 40 galaxies most like ${result.of.id}`;
  }
  document.getElementById("browse-prev").disabled = similarTo === null && browsePage === 0;
  document.getElementById("browse-next").disabled =
    similarTo !== null || (browsePage + 1) * result.per_page >= result.total;
  const grid = document.getElementById("browse");
  grid.replaceChildren();
  const items = similarTo === null ? result.items : [result.of, ...result.items];
  for (const item of items) {
    const card = element("div", { class: "card", "data-index": item.index });
    if (item.label !== null) card.classList.add("saved");
    const image = element("img", { src: imageUrl(item.index), alt: `galaxy ${item.id}` });
    image.addEventListener("click", () => enlargeIndex(item.index));
    const meta = element("label", { class: "meta" });
    const tick = element("input", { type: "checkbox", "data-index": item.index });
    meta.append(tick, element("span", { class: "label" }, item.label === null ? "unlabelled" : item.label));
    const like = element("button", { title: "the galaxies most like this one" }, "more like this");
    like.addEventListener("click", () => showSimilar(item.index));
    card.append(image, ...cardHeader(item), meta, like);
    grid.append(card);
  }
  const names = document.getElementById("class-names");
  names.replaceChildren(...state.classes.map((name) => element("option", { value: name })));
}

async function saveBulk() {
  const ticked = [...document.querySelectorAll("#browse input[type=checkbox]:checked")];
  const name = document.getElementById("bulk-label").value.trim();
  if (!ticked.length || !name) { setStatus("tick galaxies and name a class first"); return; }
  try {
    const saved = await post("api/labels", { indices: ticked.map((t) => +t.dataset.index), label: name });
    setStatus(`${saved.indices.length} galaxies saved as ${saved.label}`);
    await refresh();
  } catch (error) {
    setStatus(`not saved: ${error.message}`);
  }
}

function showSimilar(index) {
  similarTo = index;
  switchView("browse");
}

// The map: every galaxy on the features' first two principal axes.
async function renderMap() {
  const data = await api("api/map");
  mapStale = false;
  const chart = document.getElementById("map");
  const width = +chart.getAttribute("width"), height = +chart.getAttribute("height");
  const [x0, x1] = [Math.min(...data.x), Math.max(...data.x)];
  const [y0, y1] = [Math.min(...data.y), Math.max(...data.y)];
  const sx = (x) => 10 + (width - 20) * (x - x0) / Math.max(x1 - x0, 1e-9);
  const sy = (y) => height - 10 - (height - 20) * (y - y0) / Math.max(y1 - y0, 1e-9);
  const points = svg("g");
  const order = data.state.map((s, i) => i).sort((a, b) => data.state[a] - data.state[b]);
  for (const i of order) {
    const kind = data.states[data.state[i]];
    points.append(svg("circle", { cx: sx(data.x[i]), cy: sy(data.y[i]), r: kind === "unseen" ? 2 : 3.5, class: kind, "data-index": i }));
  }
  chart.replaceChildren(points);
  const thumb = document.getElementById("map-thumb");
  chart.onmousemove = (event) => {
    const index = event.target.dataset?.index;
    if (index === undefined) { thumb.hidden = true; return; }
    thumb.src = imageUrl(index, 128);
    thumb.style.left = `${event.clientX + 12}px`;
    thumb.style.top = `${event.clientY + 12}px`;
    thumb.hidden = false;
  };
  chart.onmouseleave = () => { thumb.hidden = true; };
  chart.onclick = (event) => {
    const index = event.target.dataset?.index;
    if (index !== undefined) { thumb.hidden = true; showSimilar(+index); }
  };
}

function switchView(name) {
  view = name;
  for (const button of document.querySelectorAll("#views button")) {
    button.classList.toggle("active", button.dataset.view === name);
  }
  for (const section of ["round", "browse", "map"]) {
    document.getElementById(`${section}-view`).hidden = section !== name;
  }
  const shown = name === "browse" ? renderBrowse() : name === "map" && mapStale ? renderMap() : null;
  shown?.catch((error) => setStatus(`cannot show the ${name}: ${error.message}`));
}

function highlight() {
  document.querySelectorAll(".card").forEach((card, position) => {
    card.classList.toggle("selected", position === selected);
  });
}

function renderInterest() {
  const table = document.getElementById("interest");
  table.replaceChildren();
  const weights = state.interest || state.effective_interest || {};
  const names = [...new Set([...Object.keys(weights), ...state.classes])];
  for (const name of names) {
    if (name === "not interesting") continue;
    const row = element("tr");
    row.append(element("td", {}, name));
    const cell = element("td");
    const input = element("input", { type: "number", min: "0", step: "0.5", "data-class": name });
    input.value = weights[name] ?? 0;
    cell.append(input);
    row.append(cell);
    table.append(row);
  }
}

function renderHistory() {
  const body = document.querySelector("#history tbody");
  body.replaceChildren();
  let found = 0, shown = 0;
  const curve = [{ round: 0, found: 0, random: 0 }];
  for (const row of state.history) {
    found += row.n_interest;
    shown += row.n_shown;
    const random = shown * state.random_rate;
    curve.push({ round: row.round, found, random });
    const tr = element("tr");
    for (const value of [row.round, row.n_shown, row.n_labelled, row.n_interest, found, random.toFixed(1), row.new_classes]) {
      tr.append(element("td", {}, value === null ? "" : String(value)));
    }
    body.append(tr);
  }
  drawHistory(curve);
}

// Cumulative galaxies of interest found, against what a random draw of as
// many galaxies would find at the rate the model estimates for the pool.
function drawHistory(curve) {
  const chart = document.getElementById("chart");
  chart.replaceChildren();
  const [left, bottom, width, height] = [34, 140, 256, 120];
  const rounds = Math.max(1, curve.length - 1);
  const most = Math.max(1, ...curve.map((c) => Math.max(c.found, c.random)));
  const x = (r) => left + width * r / rounds;
  const y = (v) => bottom - height * v / most;
  chart.append(svg("line", { x1: left, y1: bottom, x2: left + width, y2: bottom, class: "axis" }));
  chart.append(svg("line", { x1: left, y1: bottom, x2: left, y2: bottom - height, class: "axis" }));
  chart.append(svg("text", { x: left + width / 2, y: bottom + 24, "text-anchor": "middle" }, "round"));
  chart.append(svg("text", { x: 10, y: bottom - height / 2, transform: `rotate(-90 10 ${bottom - height / 2})`, "text-anchor": "middle" }, "found (cumulative)"));
  chart.append(svg("text", { x: left - 4, y: y(most) + 4, "text-anchor": "end" }, String(+most.toFixed(1))));
  chart.append(svg("text", { x: left - 4, y: bottom + 4, "text-anchor": "end" }, "0"));
  chart.append(svg("text", { x: x(rounds), y: bottom + 12, "text-anchor": "middle" }, String(rounds)));
  const path = (key) => curve.map((c, i) => `${i ? "L" : "M"}${x(c.round)},${y(c[key])}`).join(" ");
  chart.append(svg("path", { d: path("random"), class: "random" }));
  chart.append(svg("path", { d: path("found"), class: "found" }));
  chart.append(svg("text", { x: left + 6, y: 12, fill: "#fc3" }, "— found"));
  chart.append(svg("text", { x: left + 70, y: 12 }, "- - a random draw"));
}

function render() {
  const labelled = state.queries.filter((q) => q.label !== null).length;
  document.getElementById("round-info").textContent =
    `Round ${state.round} · ${labelled} of ${state.queries.length} labelled · pool of ${state.n_pool}`;
  selected = Math.min(selected, Math.max(0, state.queries.length - 1));
  renderQueries();
  renderInterest();
  renderHistory();
}

async function refresh() {
  state = await api("api/state");
  mapStale = true;
  render();
  if (view !== "round") switchView(view);
}

async function label(name) {
  if (busy || !state.queries.length) return;
  const query = state.queries[selected];
  setStatus("saving…", true);
  try {
    const saved = await post("api/label", { index: query.index, label: name });
    query.label = saved.label;
    if (saved.label !== null && !state.classes.includes(saved.label)) {
      state.classes.splice(state.classes.length - 1, 0, saved.label);
    }
    setStatus(saved.label === null ? `${query.id} skipped` : `${query.id} saved`);
    if (selected < state.queries.length - 1) selected += 1;
    render();
  } catch (error) {
    setStatus(`not saved: ${error.message}`);
  }
}

async function nextRound() {
  if (busy) return;
  busy = true;
  document.getElementById("next-round").disabled = true;
  setStatus("teaching the model…", true);
  try {
    state = await post("api/round", {});
    selected = 0;
    mapStale = true;
    render();
    if (view !== "round") switchView(view);
    setStatus(`round ${state.round}`);
  } catch (error) {
    setStatus(`round failed: ${error.message}`);
  } finally {
    busy = false;
    document.getElementById("next-round").disabled = false;
  }
}

function enlarge() {
  if (state.queries.length) enlargeIndex(state.queries[selected].index);
}

function enlargeIndex(index) {
  document.getElementById("zoom-image").src = imageUrl(index, 512);
  document.getElementById("zoom-level").value = 1;
  document.getElementById("zoom-image").style.transform = "";
  document.getElementById("zoom").showModal();
}

async function saveInterest(useDefault) {
  let interest = null;
  if (!useDefault) {
    interest = {};
    document.querySelectorAll("#interest input").forEach((input) => {
      const weight = parseFloat(input.value);
      if (weight > 0) interest[input.dataset.class] = weight;
    });
  }
  try {
    state = await post("api/interest", { interest });
    render();
    setStatus("interest saved");
  } catch (error) {
    setStatus(`interest not saved: ${error.message}`);
  }
}

document.getElementById("next-round").addEventListener("click", nextRound);
for (const button of document.querySelectorAll("#views button")) {
  button.addEventListener("click", () => { if (button.dataset.view === "browse") similarTo = null; switchView(button.dataset.view); });
}
document.getElementById("stretch").addEventListener("change", () => { render(); if (view === "browse") renderBrowse(); });
document.getElementById("browse-prev").addEventListener("click", () => {
  if (similarTo !== null) { similarTo = null; } else { browsePage = Math.max(0, browsePage - 1); }
  renderBrowse();
});
document.getElementById("browse-next").addEventListener("click", () => { browsePage += 1; renderBrowse(); });
document.getElementById("bulk-save").addEventListener("click", saveBulk);
document.getElementById("zoom-level").addEventListener("input", (event) => {
  document.getElementById("zoom-image").style.transform = `scale(${event.target.value})`;
});
document.getElementById("save-interest").addEventListener("click", () => saveInterest(false));
document.getElementById("default-interest").addEventListener("click", () => saveInterest(true));
document.getElementById("new-class-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const input = document.getElementById("new-class");
  const name = input.value.trim();
  if (name) label(name);
  input.value = "";
  input.blur();
});
document.getElementById("export").addEventListener("click", async (event) => {
  event.preventDefault();
  const response = await fetch("api/export.csv", { headers: { "X-Hunt-Token": token } });
  const url = URL.createObjectURL(await response.blob());
  const link = element("a", { href: url, download: "labels.csv" });
  link.click();
  URL.revokeObjectURL(url);
});

document.addEventListener("keydown", (event) => {
  if (event.target.tagName === "INPUT" || document.getElementById("zoom").open || !state) return;
  if (event.key === "Enter" && event.shiftKey) { event.preventDefault(); nextRound(); return; }
  if (event.key === "r") { switchView("round"); return; }
  if (event.key === "b") { similarTo = null; switchView("browse"); return; }
  if (event.key === "p") { switchView("map"); return; }
  if (view !== "round") return;
  if (event.key === "m") { if (state.queries.length) showSimilar(state.queries[selected].index); return; }
  if (event.key === "Enter") { enlarge(); return; }
  if (event.key === "ArrowRight") { selected = Math.min(selected + 1, state.queries.length - 1); highlight(); return; }
  if (event.key === "ArrowLeft") { selected = Math.max(selected - 1, 0); highlight(); return; }
  if (event.key === "s") { label(null); return; }
  if (event.key === "n") { event.preventDefault(); document.getElementById("new-class").focus(); return; }
  if (event.key === "0") { label("not interesting"); return; }
  const number = parseInt(event.key, 10);
  const named = state.classes.filter((name) => name !== "not interesting");
  if (number >= 1 && number <= named.length) label(named[number - 1]);
});

refresh().catch((error) => setStatus(`cannot load the hunt: ${error.message}`));
