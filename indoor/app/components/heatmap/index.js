// Clickable heatmap on one canvas, for st.components.v2 (mounted without shadow DOM).
//
// Python sends (components/heatmap/__init__.py): labels (display order, same for rows and columns), ids (what a
// click reports per position), z (row-major colour values), zmin / zmax / stops (colour scale), colour_title and
// colour_format, values (extra row-major arrays for the tooltip), hover / hover_empty (tooltip line templates),
// clickable (flat indices of clickable cells), cell_text, row_title / col_title, cell (largest cell size, px).
//
// Text from the data is drawn with fillText or set with textContent: never parsed as HTML.
// Sends back (setTriggerValue): "clicked" = {row: id, col: id} of a clicked clickable cell.
// For tests and benchmarks: root[data-testid="indoor-heatmap"] carries data-n and data-drawn, and
// root._indoor.cellCenter(rowId, colId) gives a cell's centre in client (viewport) coordinates.

const FONT_FAMILY = '"Source Sans", "Source Sans Pro", system-ui, sans-serif';

function hexToRgb(hex) {
  const h = hex.replace("#", "");
  const full = h.length === 3 ? h.split("").map((c) => c + c).join("") : h;
  const value = parseInt(full, 16);
  return [(value >> 16) & 255, (value >> 8) & 255, value & 255];
}

function parseColour(colour) {
  if (colour.startsWith("#")) return hexToRgb(colour);
  const match = colour.match(/rgba?\(([^)]+)\)/);
  if (match) return match[1].split(",").slice(0, 3).map((v) => Math.round(parseFloat(v)));
  return [128, 128, 128];
}

function makeScale(stops, zmin, zmax) {
  const parsed = stops.map(([position, colour]) => [position, parseColour(colour)]);
  const span = zmax - zmin || 1;
  return (value) => {
    if (value === null || value === undefined || Number.isNaN(value)) return [255, 255, 255];
    const t = Math.min(1, Math.max(0, (value - zmin) / span));
    for (let i = 1; i < parsed.length; i++) {
      if (t <= parsed[i][0] || i === parsed.length - 1) {
        const [p0, c0] = parsed[i - 1];
        const [p1, c1] = parsed[i];
        const f = p1 > p0 ? Math.min(1, Math.max(0, (t - p0) / (p1 - p0))) : 1;
        return c0.map((c, k) => Math.round(c + f * (c1[k] - c)));
      }
    }
    return parsed[parsed.length - 1][1];
  };
}

function rgb(c) {
  return `rgb(${c[0]},${c[1]},${c[2]})`;
}

function formatNumber(value, format) {
  if (value === null || value === undefined || Number.isNaN(value)) return "–";
  if (format === "pct") return `${(value * 100).toFixed(1)}%`;
  if (format === "pct0") return `${Math.round(value * 100)}%`;
  if (format === "pts") return `${value > 0 ? "+" : value < 0 ? "−" : "±"}${Math.abs(value).toFixed(1)} pts`;
  if (format === "signed") {
    const size = Math.abs(value);
    return `${value > 0 ? "+" : value < 0 ? "−" : ""}${Number.isInteger(size) ? size : size.toFixed(1)}`;
  }
  return Math.round(value).toLocaleString("en-US");
}

// "{row} → {col}: {v0:int} images ({v1:pct})" with this cell's numbers
function fillTemplate(template, data, i, r, c) {
  return template.replace(/\{(row|col|z|v\d+)(?::(int|pct|pct0|pts))?\}/g, (_, name, format) => {
    if (name === "row") return data.labels[r];
    if (name === "col") return data.labels[c];
    const source = name === "z" ? data.z : data.values[Number(name.slice(1))];
    return source ? formatNumber(source[i], format || "int") : "";
  });
}

function buildRoot(parentElement) {
  const root = el("div", "indoor-heatmap", parentElement);
  root.setAttribute("data-testid", "indoor-heatmap");
  const canvas = el("canvas", "indoor-heatmap-canvas", root);
  const overlay = el("canvas", "indoor-heatmap-overlay", root);
  canvas.setAttribute("role", "img");
  const tip = el("div", "indoor-tip indoor-heatmap-tip", root);
  tip.hidden = true;
  const state = { root, canvas, overlay, tip, sig: null, layout: null, hover: -1 };
  overlay.addEventListener("mousemove", (event) => onMove(state, event));
  overlay.addEventListener("mouseleave", () => setHover(state, -1));
  overlay.addEventListener("click", (event) => onClick(state, event));
  // keyboard: Tab to the matrix, arrow keys move between cells, Enter or Space opens the focused cell
  overlay.tabIndex = 0;
  overlay.setAttribute("role", "grid");
  overlay.addEventListener("focus", () => {
    if (state.hover < 0 && state.layout) setHover(state, state.clickable.size ? Math.min(...state.clickable) : 0, null);
  });
  overlay.addEventListener("blur", () => setHover(state, -1));
  overlay.addEventListener("keydown", (event) => onKey(state, event));
  state.cellCenter = (rowId, colId) => cellCenter(state, rowId, colId);
  root._indoor = state;
  new ResizeObserver(() => {
    if (state.data && state.root.clientWidth !== state.width) draw(state);
  }).observe(root);
  return state;
}

function measureLabels(ctx, labels, font) {
  ctx.font = font;
  let widest = 0;
  for (const label of labels) widest = Math.max(widest, ctx.measureText(label).width);
  return Math.ceil(widest);
}

function computeLayout(state) {
  const data = state.data;
  const n = data.labels.length;
  const width = Math.max(200, state.root.clientWidth || 800);
  const fontSize = n > 40 ? 10 : n > 20 ? 11 : 13;
  const font = `${fontSize}px ${FONT_FAMILY}`;
  const ctx = state.canvas.getContext("2d");
  const labelWidth = Math.min(measureLabels(ctx, data.labels, font), fontSize * 18) + 6;
  const titleSize = 12;
  const colourBar = 82; // bar + ticks + title
  const left = titleSize + 8 + labelWidth;
  const top = 4;
  const available = width - left - colourBar - 8;
  // square cells of data.cell px while they fit; narrower columns beyond that, rows kept tall enough to read
  const cellW = Math.max(6, Math.min(data.cell, Math.floor(available / Math.max(n, 1))));
  const cellH = Math.max(cellW, Math.min(data.cell, fontSize + 3));
  const plotW = cellW * n;
  const plotH = cellH * n;
  const bottom = labelWidth + titleSize + 14;
  return { n, width, cellW, cellH, left, top, plotW, plotH, bottom, font, fontSize, labelWidth,
           height: top + plotH + bottom };
}

function setupCanvas(canvas, width, height) {
  const ratio = window.devicePixelRatio || 1;
  canvas.width = Math.round(width * ratio);
  canvas.height = Math.round(height * ratio);
  canvas.style.width = `${width}px`;
  canvas.style.height = `${height}px`;
  const ctx = canvas.getContext("2d");
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  return ctx;
}

function clippedLabel(ctx, text, maxWidth) {
  if (ctx.measureText(text).width <= maxWidth) return text;
  let low = 0;
  let high = text.length;
  while (low < high) {
    const mid = Math.ceil((low + high) / 2);
    if (ctx.measureText(`${text.slice(0, mid)}…`).width <= maxWidth) low = mid;
    else high = mid - 1;
  }
  return `${text.slice(0, low)}…`;
}

function draw(state) {
  const data = state.data;
  const L = computeLayout(state);
  state.layout = L;
  state.width = L.width;
  state.root.style.height = `${L.height}px`;
  const ctx = setupCanvas(state.canvas, L.width, L.height);
  setupCanvas(state.overlay, L.width, L.height);
  const scale = makeScale(data.stops, data.zmin, data.zmax);
  const gap = Math.min(L.cellW, L.cellH) >= 8 ? 1 : 0;
  const textColour = "#334155";

  ctx.fillStyle = "#ffffff";
  ctx.fillRect(0, 0, L.width, L.height);
  // cells
  ctx.fillStyle = "#e2e8f0";
  ctx.fillRect(L.left, L.top, L.plotW, L.plotH);
  for (let r = 0; r < L.n; r++) {
    for (let c = 0; c < L.n; c++) {
      const colour = scale(data.z[r * L.n + c]);
      ctx.fillStyle = rgb(colour);
      ctx.fillRect(L.left + c * L.cellW, L.top + r * L.cellH, L.cellW - gap, L.cellH - gap);
    }
  }
  // numbers in the cells (small matrices only)
  if (data.cell_text && Math.min(L.cellW, L.cellH) >= 22) {
    ctx.font = `${Math.min(12, Math.floor(Math.min(L.cellW, L.cellH) / 2.6))}px ${FONT_FAMILY}`;
    ctx.textAlign = "center";
    ctx.textBaseline = "middle";
    for (let r = 0; r < L.n; r++) {
      for (let c = 0; c < L.n; c++) {
        const value = data.z[r * L.n + c];
        if (!value) continue;
        const [red, green, blue] = scale(value);
        ctx.fillStyle = 0.299 * red + 0.587 * green + 0.114 * blue < 140 ? "#ffffff" : "#0f172a";
        const format = data.colour_format === "pct" ? "pct0" : data.colour_format;
        ctx.fillText(formatNumber(value, format), L.left + (c + 0.5) * L.cellW - gap / 2,
                     L.top + (r + 0.5) * L.cellH - gap / 2);
      }
    }
  }
  // row labels (left, right-aligned) and column labels (below, rotated)
  ctx.font = L.font;
  ctx.fillStyle = textColour;
  ctx.textBaseline = "middle";
  ctx.textAlign = "right";
  const maxLabel = L.labelWidth - 6;
  const rowLabels = data.labels.map((label) => clippedLabel(ctx, label, maxLabel));
  state.rowLabels = rowLabels;
  for (let r = 0; r < L.n; r++) ctx.fillText(rowLabels[r], L.left - 5, L.top + (r + 0.5) * L.cellH);
  for (let c = 0; c < L.n; c++) {
    ctx.save();
    ctx.translate(L.left + (c + 0.5) * L.cellW, L.top + L.plotH + 5);
    ctx.rotate(-Math.PI / 2);
    ctx.textAlign = "right";
    ctx.fillText(rowLabels[c], 0, 0);
    ctx.restore();
  }
  // axis titles
  ctx.font = `600 12px ${FONT_FAMILY}`;
  ctx.fillStyle = "#475569";
  ctx.textAlign = "center";
  ctx.fillText(data.col_title, L.left + L.plotW / 2, L.top + L.plotH + L.labelWidth + 16);
  ctx.save();
  ctx.translate(10, L.top + L.plotH / 2);
  ctx.rotate(-Math.PI / 2);
  ctx.fillText(data.row_title, 0, 0);
  ctx.restore();
  drawColourBar(ctx, state, L, scale);

  const where = `${L.n} by ${L.n} heatmap, rows: ${data.row_title}, columns: ${data.col_title}`;
  state.canvas.setAttribute("aria-label", where);
  state.root.setAttribute("data-n", String(L.n));
  state.root.setAttribute("data-drawn", data.sig);
  drawHover(state);
}

function drawColourBar(ctx, state, L, scale) {
  const data = state.data;
  const x = L.left + L.plotW + 14;
  const height = Math.min(L.plotH, 360);
  const y = L.top;
  const width = 12;
  for (let i = 0; i < height; i++) {
    const value = data.zmax - ((data.zmax - data.zmin) * i) / Math.max(height - 1, 1);
    ctx.fillStyle = rgb(scale(value));
    ctx.fillRect(x, y + i, width, 1);
  }
  ctx.strokeStyle = "#cbd5e1";
  ctx.strokeRect(x + 0.5, y + 0.5, width - 1, height - 1);
  ctx.font = `10px ${FONT_FAMILY}`;
  ctx.fillStyle = "#475569";
  ctx.textAlign = "left";
  ctx.textBaseline = "middle";
  const format = { pct: "pct0", pts: "signed" }[data.colour_format] || data.colour_format; // short tick labels
  const span = data.zmax - data.zmin;
  for (const value of niceTicks(data.zmin, data.zmax, data.colour_format === "int")) {
    const ty = y + height - 1 - ((height - 1) * (value - data.zmin)) / span;
    ctx.fillRect(x + width, ty, 3, 1);
    ctx.fillText(formatNumber(value, format), x + width + 5, ty);
  }
  if (data.colour_title) {
    ctx.save();
    ctx.translate(x + width + 50, y + height / 2);
    ctx.rotate(-Math.PI / 2);
    ctx.textAlign = "center";
    ctx.font = `11px ${FONT_FAMILY}`;
    ctx.fillText(data.colour_title, 0, 0);
    ctx.restore();
  }
}

// round tick values (1, 2 or 5 times a power of ten) between low and high, both ends included when round
function niceTicks(low, high, integers) {
  const span = high - low;
  if (!(span > 0)) return [low];
  const raw = span / 5;
  const power = 10 ** Math.floor(Math.log10(raw));
  let step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw) || raw;
  if (integers) step = Math.max(1, Math.round(step));
  const ticks = [];
  for (let v = Math.ceil(low / step) * step; v <= high + step * 1e-9; v += step) ticks.push(Number(v.toFixed(10)));
  return ticks;
}

function cellAt(state, event) {
  const L = state.layout;
  if (!L) return -1;
  const box = state.overlay.getBoundingClientRect();
  const x = event.clientX - box.left - L.left;
  const y = event.clientY - box.top - L.top;
  if (x < 0 || y < 0 || x >= L.plotW || y >= L.plotH) return -1;
  return Math.floor(y / L.cellH) * L.n + Math.floor(x / L.cellW);
}

function drawHover(state) {
  const L = state.layout;
  const ctx = state.overlay.getContext("2d");
  const ratio = window.devicePixelRatio || 1;
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  ctx.clearRect(0, 0, L.width, L.height);
  const i = state.hover;
  if (i < 0) return;
  const r = Math.floor(i / L.n);
  const c = i % L.n;
  // faint cross-hair on the row and column, a dark frame on the cell, and the two labels in bold
  ctx.fillStyle = "rgba(15, 23, 42, 0.06)";
  ctx.fillRect(L.left, L.top + r * L.cellH, L.plotW, L.cellH);
  ctx.fillRect(L.left + c * L.cellW, L.top, L.cellW, L.plotH);
  ctx.strokeStyle = "#0f172a";
  ctx.lineWidth = 2;
  ctx.strokeRect(L.left + c * L.cellW + 1, L.top + r * L.cellH + 1, L.cellW - 2, L.cellH - 2);
  ctx.font = `700 ${L.fontSize}px ${FONT_FAMILY}`;
  ctx.fillStyle = "#0f172a";
  ctx.textBaseline = "middle";
  ctx.textAlign = "right";
  const labelBox = L.labelWidth - 2;
  ctx.fillStyle = "#ffffff";
  ctx.fillRect(L.left - labelBox - 2, L.top + r * L.cellH, labelBox, L.cellH);
  ctx.fillStyle = "#0f172a";
  ctx.fillText(state.rowLabels[r], L.left - 5, L.top + (r + 0.5) * L.cellH);
  ctx.save();
  ctx.translate(L.left + (c + 0.5) * L.cellW, L.top + L.plotH + 5);
  ctx.rotate(-Math.PI / 2);
  ctx.fillStyle = "#ffffff";
  ctx.fillRect(-labelBox, -L.cellW / 2, labelBox, L.cellW);
  ctx.fillStyle = "#0f172a";
  ctx.textAlign = "right";
  ctx.fillText(state.rowLabels[c], 0, 0);
  ctx.restore();
}

function setHover(state, i, event) {
  if (i !== state.hover) {
    state.hover = i;
    drawHover(state);
  }
  const tip = state.tip;
  if (i < 0) {
    tip.hidden = true;
    state.overlay.style.cursor = "default";
    return;
  }
  const data = state.data;
  const L = state.layout;
  const r = Math.floor(i / L.n);
  const c = i % L.n;
  const clickable = state.clickable.has(i);
  const lines = clickable || !data.hover_empty ? data.hover : data.hover_empty;
  tip.replaceChildren();
  lines.forEach((line, k) => {
    const div = el("div", k === 0 ? "indoor-tip-head" : "indoor-tip-line", tip);
    div.textContent = fillTemplate(line, data, i, r, c);
  });
  if (clickable) el("div", "indoor-tip-hint", tip).textContent = "click: open these images";
  tip.hidden = false;
  state.overlay.style.cursor = clickable ? "pointer" : "default";
  {
    const box = state.root.getBoundingClientRect();
    const x = event ? event.clientX - box.left : L.left + (c + 1) * L.cellW;
    const y = event ? event.clientY - box.top : L.top + (r + 1) * L.cellH;
    const tipWidth = tip.offsetWidth || 220;
    const tipHeight = tip.offsetHeight || 70;
    const left = x + 16 + tipWidth > L.width ? x - tipWidth - 12 : x + 16;
    const topEdge = y + 16 + tipHeight > L.height ? y - tipHeight - 12 : y + 16;
    tip.style.left = `${Math.max(0, left)}px`;
    tip.style.top = `${Math.max(0, topEdge)}px`;
  }
}

function onMove(state, event) {
  setHover(state, cellAt(state, event), event);
}

function onClick(state, event) {
  const i = cellAt(state, event);
  if (i < 0 || !state.clickable.has(i)) return;
  const L = state.layout;
  const ids = state.data.ids;
  state.setTriggerValue("clicked", { row: ids[Math.floor(i / L.n)], col: ids[i % L.n] });
}

function onKey(state, event) {
  const L = state.layout;
  if (!L || state.hover < 0) return;
  const moves = { ArrowLeft: [0, -1], ArrowRight: [0, 1], ArrowUp: [-1, 0], ArrowDown: [1, 0] };
  let r = Math.floor(state.hover / L.n);
  let c = state.hover % L.n;
  if (moves[event.key]) {
    r = Math.min(L.n - 1, Math.max(0, r + moves[event.key][0]));
    c = Math.min(L.n - 1, Math.max(0, c + moves[event.key][1]));
  } else if (event.key === "Enter" || event.key === " ") {
    if (state.clickable.has(state.hover)) {
      state.setTriggerValue("clicked", { row: state.data.ids[r], col: state.data.ids[c] });
    }
  } else {
    return;
  }
  event.preventDefault();
  setHover(state, r * L.n + c, null);
}

function cellCenter(state, rowId, colId) {
  const L = state.layout;
  if (!L) return null;
  const r = state.data.ids.indexOf(rowId);
  const c = state.data.ids.indexOf(colId);
  if (r < 0 || c < 0) return null;
  const box = state.overlay.getBoundingClientRect();
  return { x: box.left + L.left + (c + 0.5) * L.cellW, y: box.top + L.top + (r + 0.5) * L.cellH };
}

export default function (component) {
  const { data, parentElement, setTriggerValue } = component;
  if (!data || !Array.isArray(data.labels)) return;
  const state = parentElement.querySelector(".indoor-heatmap")?._indoor || buildRoot(parentElement);
  state.setTriggerValue = setTriggerValue;
  if (state.sig === data.sig && state.layout) return; // same picture (e.g. the rerun a click started)
  state.sig = data.sig;
  state.data = data;
  state.clickable = new Set(data.clickable);
  state.hover = -1;
  state.tip.hidden = true;
  draw(state);
}
