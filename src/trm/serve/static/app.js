// trm serve: pick a model, enter a puzzle, watch every supervision step. Plain JS, no build, no CDN.
"use strict";

const $ = (id) => document.getElementById(id);
const SUDOKU_SYMBOLS = ".123456789ABCDEFG"; // value v is written SUDOKU_SYMBOLS[v], as trm's text layout
const MAZE = { WALL: 1, OPEN: 2, START: 3, GOAL: 4 };

const state = {
  models: [],
  model: null, // the chosen entry of /api/models
  grid: [], // the editor's question grid (task values)
  mode: "grid", // what Solve sends: the editor's grid, or the textarea's text as pasted
  result: null, // the last /api/solve answer
  step: 1,
  timer: null,
  exampleIndex: 0,
  colour: 1, // ARC paint colour
};

function sudokuBoxes(n) {
  let rows = Math.floor(Math.sqrt(n));
  while (n % rows) rows -= 1;
  return [rows, n / rows];
}

// How each task draws and edits its cells. Unknown tasks (a user's own) get numbered cells.
const TASKS = {
  sudoku: {
    hint: "Type digits; leave a cell empty (or type . or 0) for a blank.",
    blank: 0,
    input: true,
    text: (v) => (v > 0 && v < SUDOKU_SYMBOLS.length ? SUDOKU_SYMBOLS[v] : ""),
    read: (ch, n) => {
      const v = SUDOKU_SYMBOLS.indexOf(ch.toUpperCase());
      return v > 0 && v <= n ? v : 0;
    },
    classes: () => [],
    boxes: (rows) => sudokuBoxes(rows),
    clues: true, // the question's digits stay: the answer marks them
  },
  maze: {
    hint: "Click a cell to cycle: wall, open, start S, goal G.",
    blank: MAZE.OPEN,
    click: (v) => ({ 1: 2, 2: 3, 3: 4, 4: 1 })[v] || MAZE.WALL,
    text: (v) => ({ 3: "S", 4: "G" })[v] || "",
    classes: (v) => ["m" + v],
  },
  arc: {
    hint: "Pick a colour, then click cells to paint them. Resize to any size up to 30x30.",
    blank: 0,
    palette: true,
    resizable: true,
    click: () => state.colour,
    text: () => "",
    classes: (v) => ["c" + v, "coloured"],
  },
  grid: {
    hint: "A grid of your task's symbols: pick a symbol, then click cells. Resize up to the model's grid.",
    blank: 0,
    palette: "symbols",
    resizable: true,
    click: () => state.colour,
    text: (v) => symbolOf(v),
    classes: () => ["clickable"],
  },
  other: {
    hint: "Type a number into each cell.",
    blank: 0,
    input: true,
    text: (v) => String(v),
    read: (ch) => (/^[0-9]$/.test(ch) ? Number(ch) : 0),
    classes: () => [],
  },
};
const taskOf = (model) => TASKS[model && model.task] || TASKS.other;
const symbolOf = (v) => (state.model && state.model.symbols ? state.model.symbols[v] ?? "?" : String(v));

// -- errors ----------------------------------------------------------------------------------------
function showError(message) {
  const box = $("error");
  box.textContent = message;
  box.hidden = !message;
}

async function api(path, options) {
  let response;
  try {
    response = await fetch(path, options);
  } catch (e) {
    throw new Error("could not reach the server: " + e.message);
  }
  let body = null;
  try {
    body = await response.json();
  } catch (e) {
    body = null;
  }
  if (!response.ok) {
    const words = body && body.error ? body.error : "the server answered " + response.status;
    throw new Error(words);
  }
  return body;
}

// -- drawing grids ---------------------------------------------------------------------------------
function sizeGrid(el, rows, cols) {
  const cell = Math.max(10, Math.min(38, Math.floor(380 / Math.max(rows, cols, 1))));
  el.style.setProperty("--cols", cols);
  el.style.setProperty("--cell", cell + "px");
}

function makeCell(task, value, r, c, rows, cols) {
  const cell = document.createElement("div");
  cell.className = "cell";
  cell.dataset.row = r;
  cell.dataset.col = c;
  cell.dataset.value = value;
  cell.classList.add(...task.classes(value));
  if (task.boxes) {
    const [br, bc] = task.boxes(rows);
    if ((c + 1) % bc === 0 && c + 1 < cols) cell.classList.add("box-right");
    if ((r + 1) % br === 0 && r + 1 < rows) cell.classList.add("box-bottom");
  }
  return cell;
}

// The answer at the current step: clues distinct, changed cells highlighted.
function drawAnswer() {
  const el = $("answer");
  el.replaceChildren();
  const res = state.result;
  if (!res) return;
  const step = res.steps[state.step - 1];
  const task = taskOf(state.model);
  const grid = step.grid;
  el.classList.toggle("empty", !grid.length);
  if (!grid.length) {
    el.textContent = "(no grid at this step: the model drew no border around an answer)";
    return;
  }
  const rows = grid.length;
  const cols = grid[0].length;
  const q = res.question;
  const sameShape = q.length === rows && q[0] && q[0].length === cols;
  sizeGrid(el, rows, cols);
  grid.forEach((row, r) =>
    row.forEach((v, c) => {
      const cell = makeCell(task, v, r, c, rows, cols);
      cell.textContent = task.text(v);
      if (task.clues && sameShape && q[r][c] !== 0) cell.classList.add("clue");
      if (step.changed[r] && step.changed[r][c]) cell.classList.add("changed");
      el.appendChild(cell);
    }),
  );
}

// The editor: the question the user types, pastes or loads.
function drawEditor() {
  const el = $("editor");
  el.replaceChildren();
  const task = taskOf(state.model);
  const rows = state.grid.length;
  const cols = rows ? state.grid[0].length : 0;
  sizeGrid(el, rows, cols);
  if (task.resizable) [$("rows").value, $("cols").value] = [rows, cols];
  state.grid.forEach((row, r) =>
    row.forEach((v, c) => {
      const cell = makeCell(task, v, r, c, rows, cols);
      if (task.input) {
        const input = document.createElement("input");
        input.value = task.text(v);
        input.setAttribute("aria-label", `row ${r + 1} column ${c + 1}`);
        input.addEventListener("input", () => {
          const ch = input.value.slice(-1);
          state.grid[r][c] = task.read(ch, rows);
          input.value = task.text(state.grid[r][c]);
          cell.classList.toggle("clue", state.grid[r][c] !== 0);
          state.mode = "grid";
          if (state.grid[r][c] !== 0) focusCell(r, c + 1);
        });
        input.addEventListener("keydown", (e) => {
          const moves = { ArrowLeft: [0, -1], ArrowRight: [0, 1], ArrowUp: [-1, 0], ArrowDown: [1, 0] };
          if (moves[e.key]) {
            e.preventDefault();
            focusCell(r + moves[e.key][0], c + moves[e.key][1]);
          }
        });
        if (v !== 0) cell.classList.add("clue");
        cell.appendChild(input);
      } else {
        cell.textContent = task.text(v);
        cell.classList.add("clickable");
        cell.addEventListener("click", () => {
          state.grid[r][c] = task.click(v);
          state.mode = "grid";
          drawEditor();
        });
      }
      el.appendChild(cell);
    }),
  );
}

function focusCell(r, c) {
  const cols = state.grid[0].length;
  if (c >= cols) [r, c] = [r + 1, 0];
  const input = document.querySelector(`#editor .cell[data-row="${r}"][data-col="${c}"] input`);
  if (input) input.focus();
}

function drawPalette() {
  const el = $("palette");
  el.replaceChildren();
  const symbols = taskOf(state.model).palette === "symbols";
  const count = symbols ? state.model.symbols.length : 10;
  for (let v = 0; v < count; v += 1) {
    const swatch = document.createElement("div");
    swatch.className = (symbols ? "cell" : `cell c${v}`) + (v === state.colour ? " selected" : "");
    swatch.style.setProperty("--cell", "24px");
    if (symbols) swatch.textContent = state.model.symbols[v];
    swatch.title = symbols ? "symbol " + state.model.symbols[v] : "colour " + v;
    swatch.addEventListener("click", () => {
      state.colour = v;
      drawPalette();
    });
    el.appendChild(swatch);
  }
}

// -- the q_halt chart ------------------------------------------------------------------------------
function drawChart() {
  const svg = $("chart");
  svg.replaceChildren();
  const res = state.result;
  if (!res) return;
  const W = 360, H = 140, padX = 28, padY = 14;
  const ns = "http://www.w3.org/2000/svg";
  const add = (name, attrs, text) => {
    const node = document.createElementNS(ns, name);
    for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
    if (text !== undefined) node.textContent = text;
    svg.appendChild(node);
    return node;
  };
  const qs = res.steps.map((s) => s.q_halt);
  const top = Math.max(1, ...qs.filter((q) => q !== null).map(Math.abs));
  const n = qs.length;
  const x = (i) => padX + (n === 1 ? (W - 2 * padX) / 2 : (i * (W - 2 * padX)) / (n - 1));
  const y = (q) => H / 2 - (q / top) * (H / 2 - padY);
  add("line", { class: "zero", x1: padX, x2: W - padX, y1: y(0), y2: y(0) });
  add("text", { x: 2, y: y(0) + 4 }, "0");
  add("text", { x: 2, y: padY + 4 }, top.toFixed(1));
  add("text", { x: 2, y: H - padY + 4 }, (-top).toFixed(1));
  if (res.halt_step) {
    const hx = x(res.halt_step - 1);
    add("line", { class: "halt", x1: hx, x2: hx, y1: padY / 2, y2: H - padY / 2 });
    add("text", { x: Math.min(hx + 4, W - 60), y: padY }, "halt");
  }
  const points = qs.map((q, i) => (q === null ? null : `${x(i)},${y(q)}`)).filter(Boolean);
  if (points.length > 1) add("polyline", { class: "line", points: points.join(" ") });
  qs.forEach((q, i) => {
    if (q === null) return;
    const dot = add("circle", {
      class: "dot" + (i + 1 === state.step ? " current" : ""),
      cx: x(i),
      cy: y(q),
      r: i + 1 === state.step ? 6 : 4,
    });
    dot.appendChild(document.createElementNS(ns, "title")).textContent = `step ${i + 1}: q_halt ${q.toFixed(3)}`;
    dot.addEventListener("click", () => setStep(i + 1));
  });
}

// -- particles (a particle search's ttc.particles) -------------------------------------------------
// One row per particle, one small grid per step shown: each cell agrees with the final answer or not.
// Drawn from the response alone (cells that differ, halting probabilities, lineage): no task knowledge.
function miniGrid(particle, rows, cols) {
  if (particle.grid) [rows, cols] = [particle.grid.length, particle.grid.length ? particle.grid[0].length : 0];
  if (!rows || !cols) {
    const none = document.createElement("span");
    none.className = "no-grid";
    none.textContent = "no grid";
    return none;
  }
  const px = Math.max(1, Math.min(8, Math.floor(48 / Math.max(rows, cols, 1))));
  const canvas = document.createElement("canvas");
  canvas.width = cols * px;
  canvas.height = rows * px;
  const ctx = canvas.getContext("2d");
  const style = getComputedStyle(document.documentElement);
  ctx.fillStyle = style.getPropertyValue("--agree").trim() || "#dfe3e8";
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  ctx.fillStyle = style.getPropertyValue("--differ").trim() || "#e4572e";
  if (particle.grid) ctx.fillRect(0, 0, canvas.width, canvas.height); // another shape: nothing agrees
  for (const [r, c] of particle.cells || []) ctx.fillRect(c * px, r * px, px, px);
  return canvas;
}

function particleTitle(p, step) {
  const parts = [`particle ${p.id}, step ${step}`];
  if (p.p_halt !== null) parts.push(`halting probability ${p.p_halt.toFixed(3)}`);
  if (p.weight !== null) parts.push(`resampling weight ${p.weight.toFixed(3)}`);
  parts.push(p.grid ? "a grid of another shape" : p.agrees ? "gives the final answer" : `${p.cells.length} cells differ`);
  if (p.from !== null && p.from !== p.id) parts.push(`continued particle ${p.from}`);
  if (p.dropped) parts.push("resampled away after this step");
  if (!p.running) parts.push("stopped");
  return parts.join("; ");
}

function drawParticles() {
  const panel = $("particles-panel");
  const el = $("particles");
  el.replaceChildren();
  const res = state.result;
  const pt = res && res.ttc && res.ttc.particles;
  panel.hidden = !pt;
  if (!pt) return;
  const rows = res.answer.length;
  const cols = rows ? res.answer[0].length : 0;
  const shownSteps = pt.steps.map((s) => s.index);
  $("particles-info").textContent =
    `${pt.count} particles over ${pt.steps_total} steps` +
    (pt.shown.length < pt.count || shownSteps.length < pt.steps_total
      ? ` (showing ${pt.shown.length} particles and ${shownSteps.length} steps)`
      : "") +
    `; particle ${pt.chosen} was chosen` +
    (pt.reference.some(Boolean) ? "; ref: a reference particle, never resampled (#0: the plain pass)" : "") + ".";
  el.style.setProperty("--steps", shownSteps.length);
  const head = document.createElement("div");
  head.className = "particle-row head";
  head.appendChild(document.createElement("span"));
  pt.steps.forEach((s) => {
    const agree = s.particles.filter((p) => p.agrees).length;
    const label = document.createElement("span");
    label.className = "particle-step";
    label.dataset.step = s.index;
    label.textContent = `${s.index}: ${agree}/${s.particles.length}`;
    label.title = `step ${s.index}: ${agree} of the ${s.particles.length} particles shown give the final answer`;
    head.appendChild(label);
  });
  el.appendChild(head);
  pt.shown.forEach((id, k) => {
    const row = document.createElement("div");
    row.className = "particle-row" + (id === pt.chosen ? " chosen" : "");
    row.dataset.particle = id;
    const name = document.createElement("span");
    name.className = "particle-name";
    name.textContent = `#${id}` + (pt.reference[k] ? " ref" : "") + (id === pt.chosen ? " ✓" : "");
    row.appendChild(name);
    pt.steps.forEach((s) => {
      const p = s.particles[k];
      const box = document.createElement("div");
      box.className = "mini" + (p.agrees ? " agrees" : "") + (p.dropped ? " dropped" : "") + (p.running ? "" : " stopped");
      Object.assign(box.dataset, {
        particle: p.id,
        step: s.index,
        diff: p.grid ? -1 : p.cells.length,
        pHalt: p.p_halt === null ? "" : p.p_halt,
      });
      box.title = particleTitle(p, s.index);
      const from = document.createElement("span");
      from.className = "from";
      from.textContent = p.from !== null && p.from !== p.id ? `←${p.from}` : "";
      box.appendChild(from);
      box.appendChild(miniGrid(p, rows, cols));
      const bar = document.createElement("span");
      bar.className = "bar";
      bar.style.width = `${Math.round(100 * (p.p_halt || 0))}%`;
      box.appendChild(bar);
      box.addEventListener("click", () => {
        stopPlaying();
        setStep(s.index);
      });
      row.appendChild(box);
    });
    el.appendChild(row);
  });
  markParticleStep();
}

// The column of the step shown above (or the last step shown before it) is highlighted.
function markParticleStep() {
  const pt = state.result && state.result.ttc && state.result.ttc.particles;
  if (!pt) return;
  const at = pt.steps.map((s) => s.index).filter((i) => i <= state.step).pop();
  document.querySelectorAll("#particles [data-step]").forEach((node) => {
    node.classList.toggle("current", Number(node.dataset.step) === at);
  });
}

// -- steps, slider, play ---------------------------------------------------------------------------
function setStep(k) {
  const res = state.result;
  if (!res) return;
  state.step = Math.max(1, Math.min(res.steps.length, k));
  $("step").value = state.step;
  const step = res.steps[state.step - 1];
  const q = step.q_halt === null ? "n/a" : step.q_halt.toFixed(3);
  $("step-label").textContent = `step ${state.step} / ${res.steps.length} · q_halt ${q}`;
  const verdict = $("verdict");
  verdict.textContent = step.valid
    ? `step ${state.step}: the answer is valid by the ${res.task} rules`
    : `step ${state.step}: not a valid answer yet`;
  verdict.className = step.valid ? "valid" : "invalid";
  drawAnswer();
  drawChart();
  markParticleStep();
}

function stopPlaying() {
  if (state.timer) clearInterval(state.timer);
  state.timer = null;
  $("play").textContent = "Play";
}

function togglePlay() {
  if (state.timer) return stopPlaying();
  if (!state.result) return;
  if (state.step >= state.result.steps.length) setStep(1);
  $("play").textContent = "Pause";
  state.timer = setInterval(() => {
    if (state.step >= state.result.steps.length) return stopPlaying();
    setStep(state.step + 1);
  }, 700);
}

function showResult(res) {
  stopPlaying();
  state.result = res;
  const n = res.steps.length;
  $("step").max = n;
  $("step").disabled = false;
  $("play").disabled = false;
  const ttc = res.ttc
    ? ` Test-time compute: candidate ${res.ttc.chosen + 1} of ${res.ttc.candidates} chosen (${res.ttc.calls} network calls)${res.ttc.searched === false ? "; the gate kept the plain answer, the search did not run" : ""}; the steps shown are its trajectory.`
    : "";
  $("halt").textContent = (res.halt_step
    ? `The halting head would stop at step ${res.halt_step} of ${n}. Final answer (step ${n}): ${res.valid ? "valid" : "not valid"}.`
    : `The halting head never fires (q_halt ≤ 0 at every step). Final answer (step ${n}): ${res.valid ? "valid" : "not valid"}.`) + ttc;
  drawParticles();
  setStep(n);
}

function clearResult() {
  stopPlaying();
  state.result = null;
  $("answer").replaceChildren();
  $("chart").replaceChildren();
  drawParticles();
  $("step").disabled = true;
  $("play").disabled = true;
  $("step-label").textContent = "no answer yet";
  $("verdict").textContent = "";
  $("halt").textContent = "";
}

// -- actions ---------------------------------------------------------------------------------------
function blankGrid(rows, cols) {
  const blank = taskOf(state.model).blank;
  return Array.from({ length: rows }, () => Array(cols).fill(blank));
}

function chooseModel(name) {
  state.model = state.models.find((m) => m.name === name) || state.models[0];
  const m = state.model;
  const task = taskOf(m);
  $("model-info").textContent =
    `${m.task}, grid ${m.grid_shape.join("x")}, ${m.parameters.toLocaleString("en")} parameters, N_sup ${m.n_sup} · ${m.source}`;
  $("steps").placeholder = String(m.n_sup);
  $("editor-hint").textContent = task.hint;
  $("palette").hidden = !task.palette;
  $("size-row").hidden = !task.resizable;
  if (task.palette) {
    state.colour = m.symbols && m.symbols.length < 2 ? 0 : 1;
    drawPalette();
  }
  const [rows, cols] = task.resizable ? m.grid_shape.map((x) => Math.min(x, 10)) : m.grid_shape;
  state.grid = blankGrid(rows, cols);
  state.mode = "grid";
  $("text").value = "";
  $("source").textContent = "";
  clearResult();
  showError("");
  drawEditor();
}

async function loadExample() {
  showError("");
  try {
    const q = new URLSearchParams({ model: state.model.name, index: state.exampleIndex });
    const ex = await api("/api/example?" + q);
    state.exampleIndex += 1;
    state.grid = ex.grid;
    state.mode = "grid";
    $("text").value = ex.puzzle;
    $("source").textContent = "example: " + ex.source;
    drawEditor();
  } catch (e) {
    showError(e.message);
  }
}

async function solve() {
  showError("");
  const body = { model: state.model.name };
  body.puzzle = state.mode === "text" ? $("text").value : state.grid;
  if ($("steps").value !== "") body.steps = Number($("steps").value);
  if ($("ttc").value.trim() !== "") body.ttc = $("ttc").value.trim();
  $("solve").disabled = true;
  $("solve").textContent = "Solving…";
  try {
    const res = await api("/api/solve", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
    });
    state.grid = res.question;
    state.mode = "grid";
    drawEditor();
    showResult(res);
  } catch (e) {
    showError(e.message);
  } finally {
    $("solve").disabled = false;
    $("solve").textContent = "Solve";
  }
}

async function start() {
  $("model").addEventListener("change", (e) => chooseModel(e.target.value));
  $("example").addEventListener("click", loadExample);
  $("clear").addEventListener("click", () => chooseModel(state.model.name));
  $("solve").addEventListener("click", solve);
  $("play").addEventListener("click", togglePlay);
  $("ttc-preset").addEventListener("change", (e) => {
    $("ttc").value = e.target.value;
  });
  $("ttc").addEventListener("input", () => {
    const typed = $("ttc").value.trim();
    const preset = $("ttc-preset");
    preset.value = typed;
    if (preset.value !== typed) preset.selectedIndex = -1; // a spec of one's own: no preset
  });
  $("step").addEventListener("input", (e) => {
    stopPlaying();
    setStep(Number(e.target.value));
  });
  $("text").addEventListener("input", () => {
    state.mode = $("text").value.trim() ? "text" : "grid";
    $("source").textContent = state.mode === "text" ? "Solve will read the text as pasted." : "";
  });
  $("resize").addEventListener("click", () => {
    const [maxRows, maxCols] = state.model.grid_shape;
    const rows = Math.max(1, Math.min(maxRows, Number($("rows").value) || 1));
    const cols = Math.max(1, Math.min(maxCols, Number($("cols").value) || 1));
    state.grid = blankGrid(rows, cols);
    state.mode = "grid";
    drawEditor();
  });
  try {
    state.models = await api("/api/models");
  } catch (e) {
    showError(e.message);
    return;
  }
  const select = $("model");
  for (const m of state.models) select.appendChild(new Option(`${m.name} (${m.task})`, m.name));
  chooseModel(state.models[0].name);
  document.body.dataset.ready = "1"; // for tests: the models are loaded
}

start();
