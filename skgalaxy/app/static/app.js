// The labelling page of an skgalaxy hunt. Plain JavaScript, no build step.
// Labels are always inserted as text (textContent), never as HTML.
"use strict";

const token = new URLSearchParams(location.search).get("token") || "";
let state = null;
let selected = 0;
let busy = false;

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
  const query = new URLSearchParams({ token });
  if (size) query.set("size", size);
  return `api/image/${index}.png?${query}`;
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
  state.queries.forEach((query, position) => {
    const card = element("div", { class: "card", "data-index": query.index, tabindex: -1 });
    if (position === selected) card.classList.add("selected");
    if (query.label !== null) card.classList.add("saved");
    const image = element("img", { src: imageUrl(query.index), alt: `galaxy ${query.index}` });
    image.addEventListener("click", () => { selected = position; enlarge(); });
    const meta = element("div", { class: "meta" });
    meta.append(element("span", {}, `#${query.index}`));
    meta.append(element("span", { class: "label" }, query.label === null ? "unlabelled" : query.label));
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
    card.append(image, meta, buttons);
    card.addEventListener("click", () => { selected = position; highlight(); });
    grid.append(card);
  });
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
  for (const row of state.history) {
    const tr = element("tr");
    for (const value of [row.round, row.n_shown, row.n_labelled, row.n_interest, row.new_classes]) {
      tr.append(element("td", {}, value === null ? "" : String(value)));
    }
    body.append(tr);
  }
  const chart = document.getElementById("chart");
  chart.replaceChildren();
  const most = Math.max(1, ...state.history.map((row) => row.n_shown));
  const width = 260 / Math.max(1, state.history.length);
  state.history.forEach((row, i) => {
    const height = 76 * row.n_interest / most;
    const bar = document.createElementNS("http://www.w3.org/2000/svg", "rect");
    bar.setAttribute("x", i * width + 1);
    bar.setAttribute("y", 78 - height);
    bar.setAttribute("width", Math.max(1, width - 2));
    bar.setAttribute("height", height);
    const title = document.createElementNS("http://www.w3.org/2000/svg", "title");
    title.textContent = `round ${row.round}: ${row.n_interest} of interest`;
    bar.append(title);
    chart.append(bar);
  });
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
  render();
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
    setStatus(saved.label === null ? `#${query.index} skipped` : `#${query.index} saved`);
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
    render();
    setStatus(`round ${state.round}`);
  } catch (error) {
    setStatus(`round failed: ${error.message}`);
  } finally {
    busy = false;
    document.getElementById("next-round").disabled = false;
  }
}

function enlarge() {
  if (!state.queries.length) return;
  document.getElementById("zoom-image").src = imageUrl(state.queries[selected].index, 512);
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
