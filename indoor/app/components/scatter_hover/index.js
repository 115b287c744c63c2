// Scatter map with thumbnail-on-hover, for st.components.v2 (mounted without shadow DOM), drawn with WebGL by
// regl-scatterplot (vendor/regl-scatterplot.min.js, loaded once from the app's static folder: the global
// reglScatterplot).
//
// Python sends (components/scatter_hover/__init__.py) the per-point columns as one binary Arrow table,
// data.points (Streamlit decodes it into an Apache Arrow Table): x, y (uint16 0..65535 over the whole map's
// bounds), rows (uint32; absent when every row is shown in order), label / pred (uint16 class indices), conf (uint8
// percent), split (uint8 index into SPLITS, 255 = other) and, when colouring by a property, values (uint16 0..999);
// class names and colours once as JSON, the thumbnail URL prefix.
// A point's thumbnail is fetched only when it is hovered: its URL is built here from the prefix and the
// zero-padded row. Every piece of text from the data goes into the page through textContent, never as HTML.
//
// Sends back (setStateValue): "clicked" = row of a clicked point, "selected" = rows of a lasso / box selection
// ([] after a double-click or Escape). For tests and benchmarks: the root [data-testid="indoor-map"] carries
// data-points (points drawn), data-load-ms (library ready) and data-draw-ms (decode + draw), and root._indoor
// gives data (data.n points), plot (the regl-scatterplot), screenOf(i) (point i's client coordinates), rowOf(i),
// hovered (the hovered point, -1 for none) and setMode("lasso" | "box" | "pan").

const SPLITS = ["train", "val", "test"];
const XY_STEPS = 65535;
const COLOUR_STEPS = 999;
const EDGE = 0.97; // points span [-EDGE, EDGE] of the canvas: the outermost stay whole
const HOVER_COLOUR = "#111827";
const CORRECT = [0x8a / 255, 0x9b / 255, 0xb0 / 255, 0.55];
const WRONG = [0xe4 / 255, 0x57 / 255, 0x2e / 255, 0.95];
const MODES = [
  ["lasso", "Lasso", "Drag to select points with a free-hand lasso"],
  ["box", "Box", "Drag to select the points in a rectangle"],
  ["pan", "Pan", "Drag to move the map (Shift + drag: lasso)"],
];
const libraryLoads = new Map();

function loadLibrary(url) {
  if (typeof reglScatterplot !== "undefined") return Promise.resolve(reglScatterplot);
  if (!libraryLoads.has(url)) {
    libraryLoads.set(
      url,
      new Promise((resolve, reject) => {
        const script = document.createElement("script");
        script.src = url;
        script.async = true;
        script.onload = () =>
          typeof reglScatterplot !== "undefined"
            ? resolve(reglScatterplot)
            : reject(new Error(`${url} loaded but defined no reglScatterplot`));
        script.onerror = () => {
          libraryLoads.delete(url);
          reject(new Error(`could not load the map's WebGL library from ${url} (is server.enableStaticServing on?)`));
        };
        document.head.appendChild(script);
      }),
    );
  }
  return libraryLoads.get(url);
}

// ------------------------------------------------------------------------------------------------- data

// a column of the Arrow table as its typed array (Uint16Array, ...); null when the table has no such column
function columnOf(table, name) {
  const vector = table.getChild(name);
  return vector ? vector.toArray() : null;
}

function columnsOf(data) {
  const table = data.points;
  return {
    x: columnOf(table, "x"),
    y: columnOf(table, "y"),
    rows: columnOf(table, "rows"),
    label: columnOf(table, "label"),
    pred: columnOf(table, "pred"),
    conf: columnOf(table, "conf"),
    split: columnOf(table, "split"),
    values: columnOf(table, "values"),
  };
}

function hexToRgb(hex) {
  const value = parseInt(hex.replace("#", ""), 16);
  return [(value >> 16) & 255, (value >> 8) & 255, value & 255];
}

function rampOf(stops, steps = 256) {
  // stops: [[position 0..1, "#rrggbb"], ...] -> `steps` colours as normalised RGBA
  const parsed = stops.map(([position, colour]) => [position, hexToRgb(colour)]);
  const out = [];
  for (let s = 0; s < steps; s++) {
    const t = s / (steps - 1);
    let k = 1;
    while (k < parsed.length - 1 && t > parsed[k][0]) k++;
    const [p0, c0] = parsed[k - 1];
    const [p1, c1] = parsed[k];
    const f = p1 > p0 ? Math.min(1, Math.max(0, (t - p0) / (p1 - p0))) : 1;
    out.push([...c0.map((c, i) => (c + f * (c1[i] - c)) / 255), 1]);
  }
  return out;
}

function cssColour(rgba) {
  const [r, g, b] = rgba.slice(0, 3).map((c) => Math.round(c * 255));
  return `rgb(${r},${g},${b})`;
}

// What to draw: the points [x, y, category or value] in normalised device coordinates, their colours and legend.
function encode(data, cols) {
  const n = data.n;
  const mode = (data.colour || {}).mode || "label";
  const points = new Array(n);
  const scale = (2 * EDGE) / XY_STEPS;
  let z;
  if (mode === "label" || mode === "pred") z = mode === "label" ? cols.label : cols.pred;
  else if (mode === "correct") z = cols.label.map((label, i) => (label === cols.pred[i] ? 0 : 1));
  else z = cols.values;
  const continuous = mode === "value";
  for (let i = 0; i < n; i++) {
    points[i] = [cols.x[i] * scale - EDGE, cols.y[i] * scale - EDGE, continuous ? z[i] / COLOUR_STEPS : z[i]];
  }
  let colours;
  let order = null;
  const legend = { mode, items: [] };
  if (mode === "label" || mode === "pred") {
    colours = data.classes.map((_, c) => data.palette[c % data.palette.length]);
    const present = new Set(z);
    legend.items = [...present]
      .sort((a, b) => data.classes[a].localeCompare(data.classes[b]))
      .map((c) => ({ name: data.classes[c], colour: colours[c] }));
  } else if (mode === "correct") {
    colours = [CORRECT, WRONG];
    order = [];
    for (let i = 0; i < n; i++) if (z[i] === 0) order.push(i);
    for (let i = 0; i < n; i++) if (z[i] === 1) order.push(i); // the wrong ones on top
    if (z.includes(0)) legend.items.push({ name: "correct", colour: cssColour(CORRECT) });
    if (z.includes(1)) legend.items.push({ name: "wrong", colour: cssColour(WRONG) });
  } else {
    colours = rampOf(data.colour.scale);
    legend.name = data.colour.name;
    legend.min = data.colour.min;
    legend.max = data.colour.max;
    legend.gradient = data.colour.scale.map(([p, c]) => `${c} ${(100 * (1 - p)).toFixed(1)}%`).reverse();
  }
  return { points, colours, order, legend, zDataType: continuous ? "continuous" : "categorical" };
}

// --------------------------------------------------------------------------------------------------- DOM

function cssVar(node, name, fallback) {
  const value = getComputedStyle(node).getPropertyValue(name).trim();
  return value && value !== "unset" ? value : fallback;
}

function buildRoot(parentElement) {
  const root = el("div", "indoor-map", parentElement);
  root.setAttribute("data-testid", "indoor-map");
  const body = el("div", "indoor-map-body", root);
  const plotBox = el("div", "indoor-map-plot", body);
  const legend = el("div", "indoor-map-legend", body);
  const toolbar = el("div", "indoor-map-toolbar", plotBox);
  const buttons = {};
  for (const [mode, text, title] of MODES) {
    const button = el("button", "indoor-map-button", toolbar);
    button.type = "button";
    button.textContent = text;
    button.title = title;
    buttons[mode] = button;
  }
  const reset = el("button", "indoor-map-button", toolbar);
  reset.type = "button";
  reset.textContent = "Reset view";
  reset.title = "Back to the whole map (scroll to zoom)";
  const status = el("div", "indoor-map-status", root);
  status.textContent = "Loading the map…";
  const tip = el("div", "indoor-tip indoor-map-tip", root);
  tip.hidden = true;
  const frame = el("div", "indoor-map-frame", tip);
  const img = el("img", "indoor-map-img", frame);
  img.alt = "";
  img.decoding = "async";
  const text = el("div", "indoor-map-text", tip);
  const lines = {
    label: el("div", "indoor-map-label", text),
    pred: el("div", "indoor-map-pred", text),
    meta: el("div", "indoor-map-meta", text),
  };
  img.addEventListener("load", () => frame.classList.remove("loading", "failed"));
  img.addEventListener("error", () => {
    frame.classList.remove("loading");
    frame.classList.add("failed");
  });
  const state = {
    root, plotBox, legend, buttons, status, tip, frame, img, lines,
    sig: null, drawn: false, plot: null, hovered: -1, mode: "lasso", mouse: { x: 0, y: 0 }, down: null,
  };
  for (const [mode] of MODES) buttons[mode].addEventListener("click", () => setMode(state, mode));
  reset.addEventListener("click", () => state.plot && state.plot.reset());
  root.addEventListener("mousemove", (event) => {
    state.mouse = { x: event.clientX, y: event.clientY };
    if (!tip.hidden) placeTip(state, event.clientX, event.clientY);
  });
  root.addEventListener("mouseleave", () => (tip.hidden = true));
  // a click on a point opens it (and leaves the selection alone): handled here, before the library's own click
  root.addEventListener("mousedown", (event) => (state.down = { x: event.clientX, y: event.clientY }), true);
  root.addEventListener(
    "click",
    (event) => {
      if (!state.plot || event.target.tagName !== "CANVAS" || !state.down) return;
      const moved = Math.hypot(event.clientX - state.down.x, event.clientY - state.down.y);
      if (moved >= 4 || state.hovered < 0) return;
      event.stopPropagation();
      state.setStateValue("clicked", rowOf(state, state.hovered));
    },
    true,
  );
  root._indoor = state;
  state.rowOf = (i) => rowOf(state, i);
  state.screenOf = (i) => {
    const [x, y] = state.plot.getScreenPosition(i);
    const box = state.canvas.getBoundingClientRect();
    return { x: box.left + x, y: box.top + y };
  };
  state.setMode = (mode) => setMode(state, mode);
  setMode(state, state.mode);
  return state;
}

function modeOptions(mode) {
  return mode === "pan" ? { mouseMode: "panZoom" } : { mouseMode: "lasso", lassoType: mode === "box" ? "rectangle" : "freeform" };
}

function setMode(state, mode) {
  state.mode = mode;
  for (const [name, button] of Object.entries(state.buttons)) button.classList.toggle("active", name === mode);
  if (state.plot) state.plot.set(modeOptions(mode));
}

function placeTip(state, clientX, clientY) {
  const box = state.root.getBoundingClientRect();
  const tipWidth = state.tip.offsetWidth || 180;
  const tipHeight = state.tip.offsetHeight || 190;
  let left = clientX - box.left + 16;
  let top = clientY - box.top + 16;
  if (left + tipWidth > box.width) left = clientX - box.left - tipWidth - 16;
  if (top + tipHeight > box.height) top = Math.max(0, clientY - box.top - tipHeight - 16);
  state.tip.style.left = `${Math.max(0, left)}px`;
  state.tip.style.top = `${top}px`;
}

function rowOf(state, i) {
  return state.cols.rows ? state.cols.rows[i] : i;
}

function showTip(state, i) {
  const { data, cols } = state;
  const row = rowOf(state, i);
  const url = data.thumb_prefix ? `${data.thumb_prefix}${String(row).padStart(6, "0")}.jpg` : "";
  if (!url) {
    state.img.removeAttribute("src");
    state.frame.classList.remove("loading");
    state.frame.classList.add("failed");
  } else if (state.img.getAttribute("src") !== url) {
    state.frame.classList.add("loading");
    state.frame.classList.remove("failed");
    state.img.src = url;
  }
  const label = cols.label[i];
  const pred = cols.pred[i];
  state.lines.label.textContent = `true: ${data.classes[label]}`;
  state.lines.pred.textContent = `pred: ${data.classes[pred]} (${cols.conf[i]}%)`;
  state.lines.pred.classList.toggle("wrong", label !== pred);
  const split = SPLITS[cols.split[i]] || "";
  state.lines.meta.textContent = `${split}${split ? " · " : ""}row ${row}`;
  state.tip.hidden = false;
  placeTip(state, state.mouse.x, state.mouse.y);
}

function drawLegend(state, legend) {
  const box = state.legend;
  box.replaceChildren();
  box.classList.toggle("scale", legend.mode === "value");
  if (legend.mode === "value") {
    el("div", "indoor-map-legend-title", box).textContent = legend.name;
    const scale = el("div", "indoor-map-colourbar", box);
    const bar = el("div", "indoor-map-colourbar-bar", scale);
    bar.style.background = `linear-gradient(to bottom, ${legend.gradient.join(", ")})`;
    const ticks = el("div", "indoor-map-colourbar-ticks", scale);
    el("span", "", ticks).textContent = formatValue(legend.max);
    el("span", "", ticks).textContent = formatValue((legend.min + legend.max) / 2);
    el("span", "", ticks).textContent = formatValue(legend.min);
    return;
  }
  for (const item of legend.items) {
    const row = el("div", "indoor-map-legend-item", box);
    el("span", "indoor-map-swatch", row).style.background = item.colour;
    const name = el("span", "indoor-map-legend-name", row);
    name.textContent = item.name;
    name.title = item.name;
  }
}

function formatValue(value) {
  const magnitude = Math.abs(value);
  if (magnitude >= 1000) return Math.round(value).toLocaleString("en-US");
  return Number(value.toPrecision(3)).toString();
}

// ------------------------------------------------------------------------------------------------- plot

// The plot is created with its look (colours, point size, mode) rather than set() afterwards: every set() costs
// one more frame, about a second per million points in software WebGL.
function createPlot(library, state, look) {
  const canvas = el("canvas", "indoor-map-canvas", state.plotBox);
  state.canvas = canvas;
  const { width, height } = state.plotBox.getBoundingClientRect();
  const w = Math.max(1, Math.round(width));
  const h = Math.max(1, Math.round(height));
  const background = cssVar(state.root, "--st-background-color", "#ffffff");
  // The library renders off screen and copies into the canvas. Its own renderer draws a window-sized buffer with
  // multisampling; ours is the plot's size without it (points are smoothed by the shader): in software WebGL
  // (no GPU) that halves the time to the first picture and each redraw.
  const offscreen = document.createElement("canvas");
  offscreen.width = w * window.devicePixelRatio;
  offscreen.height = h * window.devicePixelRatio;
  offscreen.getContext("webgl", { antialias: false, preserveDrawingBuffer: true });
  const renderer = library.createRenderer({ regl: library.createRegl(offscreen), canvas: offscreen });
  state.renderer = renderer;
  const plot = library.default({
    canvas,
    renderer,
    width: w,
    height: h,
    aspectRatio: w / h, // the map's square [-1, 1]² fills the canvas (as the old plotly map did)
    backgroundColor: background,
    pointColorHover: HOVER_COLOUR,
    pointOutlineWidth: 2,
    pointSizeSelected: 2,
    opacityInactiveScale: 0.25, // with a selection, the other points fade
    lassoColor: "#2563eb",
    lassoMinDelay: 10,
    lassoMinDist: 3,
    deselectOnDblClick: true,
    deselectOnEscape: true,
    spatialIndexUseWorker: false,
    ...look,
    ...modeOptions(state.mode),
  });
  plot.subscribe("pointOver", (i) => {
    state.hovered = i;
    showTip(state, i);
  });
  plot.subscribe("pointOut", () => {
    state.hovered = -1;
    state.tip.hidden = true;
  });
  plot.subscribe("select", ({ points }) => {
    const rows = Array.from(points, (i) => rowOf(state, i)).sort((a, b) => a - b);
    state.setStateValue("selected", rows);
  });
  plot.subscribe("deselect", () => state.setStateValue("selected", []));
  let size = [w, h];
  new ResizeObserver(() => {
    // the observer also fires once when it starts and on layout changes that keep the size: a redraw of a million
    // points takes about a second in software WebGL, so only a real change of size redraws
    const box = state.plotBox.getBoundingClientRect();
    const next = [Math.round(box.width), Math.round(box.height)];
    if (next[0] < 1 || next[1] < 1 || !state.plot || (next[0] === size[0] && next[1] === size[1])) return;
    size = next;
    renderer.resize(next[0], next[1]);
    renderer.refresh();
    plot.set({ width: next[0], height: next[1], aspectRatio: box.width / box.height });
  }).observe(state.plotBox);
  state.plot = plot;
  return plot;
}

function selectedIndices(state, rows) {
  if (!rows || !rows.length) return [];
  const wanted = new Set(rows);
  const out = [];
  for (let i = 0; i < state.data.n; i++) if (wanted.has(rowOf(state, i))) out.push(i);
  return out;
}

// resolves once the library has rendered a frame with everything set so far (its "drawing" event is published
// right after a frame is rendered)
const painted = (plot) =>
  new Promise((resolve) => {
    plot.subscribe("drawing", () => resolve(), 1);
    plot.redraw();
  });

// ------------------------------------------------------------------------------------------------- mount

export default function (component) {
  const { data, parentElement, setStateValue } = component;
  if (!data || !data.points || typeof data.points.getChild !== "function") return undefined;
  const state = parentElement.querySelector(".indoor-map")?._indoor || buildRoot(parentElement);
  state.setStateValue = setStateValue;
  state.root.style.height = `${data.height}px`;
  const cleanup = () =>
    setTimeout(() => {
      // Streamlit calls this on unmount (and, rarely, for a superseded run): free the WebGL context only when the
      // map has left the page
      if (!state.root.isConnected && state.plot) {
        state.plot.destroy();
        state.renderer.destroy();
        state.plot = null;
      }
    }, 0);
  if (state.sig === data.sig && state.drawn) return cleanup; // same view (a rerun for a click or a selection)
  state.sig = data.sig;
  state.pending = data;
  const started = performance.now();

  loadLibrary(data.library_url)
    .then((library) => {
      if (state.pending !== data) return undefined; // a newer payload arrived meanwhile
      const loaded = performance.now();
      state.data = data;
      state.cols = columnsOf(data);
      const drawing = encode(data, state.cols);
      drawLegend(state, drawing.legend); // first: the plot takes the width the legend leaves
      const look = {
        colorBy: "valueA",
        pointColor: drawing.colours,
        pointColorActive: drawing.colours, // selected points keep their colour, with a ring
        pointSize: data.point_size || 4,
        opacity: drawing.legend.mode === "correct" ? 1 : 0.85,
      };
      let plot = state.plot;
      if (plot) {
        plot.set(look);
        plot.deselect({ preventEvent: true });
      } else plot = createPlot(library, state, look);
      state.tip.hidden = true;
      state.hovered = -1;
      const drawn = data.n ? plot.draw(drawing.points, { zDataType: drawing.zDataType }) : plot.clear();
      return Promise.resolve(drawn).then(() => {
        if (state.pending !== data) return undefined;
        // draw() resolves once its frame is rendered; another frame (about a second per million points in
        // software WebGL) only when a drawing order or a selection has to be shown on top of it
        const reorder = data.n > 0 && (drawing.order !== null || state.ordered);
        if (reorder) plot.set({ pointOrder: drawing.order });
        state.ordered = drawing.order !== null;
        const chosen = selectedIndices(state, data.selected);
        if (chosen.length) plot.select(chosen, { preventEvent: true });
        return (reorder || chosen.length ? painted(plot) : Promise.resolve()).then(() => {
          state.drawn = true;
          state.status.hidden = true;
          state.root.setAttribute("data-points", String(data.n));
          state.root.dataset.loadMs = String(Math.round(loaded - started)); // timings for benchmarks
          state.root.dataset.drawMs = String(Math.round(performance.now() - loaded));
        });
      });
    })
    .catch((error) => {
      state.status.hidden = false;
      state.status.classList.add("error");
      state.status.textContent = `The map could not be drawn: ${error.message}`;
    });
  return cleanup;
}
