// Scatter map with thumbnail-on-hover, for st.components.v2 (mounted without shadow DOM).
//
// Python sends compact columns (see components/scatter_hover/__init__.py): x, y (ints 0..9999), row indices,
// label / pred class indices, confidence (percent), split index, optional colour values (ints 0..999), class
// names once and the thumbnail URL prefix. The thumbnail of a point is fetched only when the point is hovered:
// its URL is built here from the prefix and the zero-padded row. Every piece of text from the data goes into the
// page through textContent (never innerHTML); text handed to plotly (legend, colour bar) is entity-escaped.
//
// Sends back (setStateValue): "clicked" = row of a clicked point, "selected" = rows of a lasso / box selection.

const SPLITS = ["train", "val", "test"];
const plotlyLoads = new Map();

function loadPlotly(url) {
  if (window.Plotly) return Promise.resolve(window.Plotly);
  if (!plotlyLoads.has(url)) {
    plotlyLoads.set(
      url,
      new Promise((resolve, reject) => {
        const script = document.createElement("script");
        script.src = url;
        script.async = true;
        script.onload = () =>
          window.Plotly ? resolve(window.Plotly) : reject(new Error(`${url} loaded but defined no Plotly`));
        script.onerror = () => {
          plotlyLoads.delete(url);
          reject(new Error(`could not load plotly.js from ${url} (is server.enableStaticServing on?)`));
        };
        document.head.appendChild(script);
      }),
    );
  }
  return plotlyLoads.get(url);
}

function plotlyText(text) {
  // plotly renders a small HTML subset in legend / axis text: escape so names show literally
  return String(text).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

function el(tag, className, parent) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (parent) parent.appendChild(node);
  return node;
}

function cssVar(node, name, fallback) {
  const value = getComputedStyle(node).getPropertyValue(name).trim();
  return value && value !== "unset" ? value : fallback;
}

function buildRoot(parentElement) {
  const root = el("div", "indoor-map", parentElement);
  root.setAttribute("data-testid", "indoor-map");
  const plot = el("div", "indoor-map-plot", root);
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
  const state = { root, plot, status, tip, frame, img, lines, sig: null, mouse: { x: 0, y: 0 } };
  root.addEventListener("mousemove", (event) => {
    state.mouse = { x: event.clientX, y: event.clientY };
    if (!tip.hidden) placeTip(state, event.clientX, event.clientY);
  });
  root.addEventListener("mouseleave", () => (tip.hidden = true));
  root._indoor = state;
  return state;
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

// ------------------------------------------------------------------------------------------------ traces

function groupBy(n, keyOf) {
  const groups = new Map();
  for (let i = 0; i < n; i++) {
    const key = keyOf(i);
    let list = groups.get(key);
    if (!list) groups.set(key, (list = []));
    list.push(i);
  }
  return groups;
}

function makeTrace(data, members, extra, selectedRows) {
  const trace = {
    type: "scattergl",
    mode: "markers",
    x: members.map((i) => data.x[i]),
    y: members.map((i) => data.y[i]),
    hoverinfo: "none",
    marker: { size: data.marker_size || 5, opacity: 0.85 },
    unselected: { marker: { opacity: 0.12 } },
    ...extra,
  };
  trace.marker = { ...trace.marker, ...(extra.marker || {}) };
  if (selectedRows && selectedRows.size) {
    const rows = data.rows;
    trace.selectedpoints = [];
    members.forEach((i, k) => {
      if (selectedRows.has(rows ? rows[i] : i)) trace.selectedpoints.push(k);
    });
  }
  return trace;
}

function buildTraces(data) {
  const n = data.x.length;
  const colour = data.colour || { mode: "label" };
  const selectedRows = new Set(data.selected || []);
  const traces = [];
  const members = [];
  const add = (list, extra) => {
    members.push(list);
    traces.push(makeTrace(data, list, extra, selectedRows));
  };
  if (colour.mode === "label" || colour.mode === "pred") {
    const source = colour.mode === "label" ? data.label : data.pred;
    const groups = groupBy(n, (i) => source[i]);
    const order = [...groups.keys()].sort((a, b) => data.classes[a].localeCompare(data.classes[b]));
    for (const c of order) {
      add(groups.get(c), {
        name: plotlyText(data.classes[c]),
        marker: { color: data.palette[c % data.palette.length] },
      });
    }
  } else if (colour.mode === "correct") {
    const groups = groupBy(n, (i) => (data.label[i] === data.pred[i] ? 1 : 0));
    if (groups.has(1)) add(groups.get(1), { name: "correct", marker: { color: "#8a9bb0", opacity: 0.55 } });
    if (groups.has(0)) add(groups.get(0), { name: "wrong", marker: { color: "#e4572e", opacity: 0.95 } });
  } else {
    const all = Array.from({ length: n }, (_, i) => i);
    const lo = colour.min;
    const span = colour.max - colour.min;
    add(all, {
      name: plotlyText(colour.name),
      showlegend: false,
      marker: {
        color: all.map((i) => lo + (colour.values[i] / 999) * span),
        colorscale: colour.scale || "Viridis",
        cmin: colour.min,
        cmax: colour.max,
        showscale: true,
        colorbar: { title: { text: plotlyText(colour.name) }, thickness: 12, len: 0.8 },
      },
    });
  }
  return { traces, members };
}

function layoutFor(data, state) {
  const text = cssVar(state.root, "--st-text-color", "#31333F");
  const axis = { visible: false, fixedrange: false };
  return {
    height: data.height,
    margin: { l: 8, r: 8, t: 34, b: 8 }, // the top margin holds the toolbar, clear of the legend
    paper_bgcolor: "rgba(0,0,0,0)",
    plot_bgcolor: "rgba(0,0,0,0)",
    font: { color: text, size: 12 },
    xaxis: axis,
    yaxis: axis,
    dragmode: "lasso",
    hovermode: "closest",
    hoverdistance: 12,
    showlegend: true,
    legend: { itemsizing: "constant", font: { size: 11 }, tracegroupgap: 0, y: 1, yanchor: "top" },
    modebar: { bgcolor: "rgba(0,0,0,0)", color: "rgba(100,110,125,0.7)", activecolor: "rgba(37,99,235,0.9)" },
    uirevision: data.view || "map",
  };
}

// ---------------------------------------------------------------------------------------------- handlers

function pointOf(state, point) {
  const list = state.members[point.curveNumber];
  if (!list) return null;
  const index = point.pointIndex ?? point.pointNumber;
  const i = list[index];
  return i === undefined ? null : i;
}

function rowOf(data, i) {
  return data.rows ? data.rows[i] : i;
}

function showTip(state, i, event) {
  const data = state.data;
  const row = rowOf(data, i);
  const url = `${data.thumb_prefix}${String(row).padStart(6, "0")}.jpg`;
  if (state.img.getAttribute("src") !== url) {
    state.frame.classList.add("loading");
    state.frame.classList.remove("failed");
    state.img.src = url;
  }
  const label = data.classes[data.label[i]];
  const pred = data.classes[data.pred[i]];
  state.lines.label.textContent = `true: ${label}`;
  state.lines.pred.textContent = `pred: ${pred} (${data.conf[i]}%)`;
  state.lines.pred.classList.toggle("wrong", data.label[i] !== data.pred[i]);
  const split = data.split ? SPLITS[data.split[i]] || "" : "";
  state.lines.meta.textContent = `${split}${split ? " · " : ""}row ${row}`;
  state.tip.hidden = false;
  const x = event && event.clientX !== undefined ? event.clientX : state.mouse.x;
  const y = event && event.clientY !== undefined ? event.clientY : state.mouse.y;
  placeTip(state, x, y);
}

function bindEvents(state) {
  const plot = state.plot;
  if (plot.removeAllListeners) {
    for (const name of ["plotly_hover", "plotly_unhover", "plotly_click", "plotly_selected", "plotly_deselect"]) {
      plot.removeAllListeners(name);
    }
  }
  plot.on("plotly_hover", (event) => {
    const point = event && event.points && event.points[0];
    const i = point ? pointOf(state, point) : null;
    if (i !== null) showTip(state, i, event.event);
  });
  plot.on("plotly_unhover", () => (state.tip.hidden = true));
  plot.on("plotly_click", (event) => {
    const point = event && event.points && event.points[0];
    const i = point ? pointOf(state, point) : null;
    if (i !== null) state.setStateValue("clicked", rowOf(state.data, i));
  });
  plot.on("plotly_selected", (event) => {
    if (!event || !event.points) return;
    const rows = new Set();
    for (const point of event.points) {
      const i = pointOf(state, point);
      if (i !== null) rows.add(rowOf(state.data, i));
    }
    state.setStateValue("selected", [...rows].sort((a, b) => a - b));
  });
  plot.on("plotly_deselect", () => state.setStateValue("selected", []));
}

// ------------------------------------------------------------------------------------------------- mount

export default function (component) {
  const { data, parentElement, setStateValue } = component;
  if (!data || !Array.isArray(data.x)) return;
  const state = parentElement.querySelector(".indoor-map")?._indoor || buildRoot(parentElement);
  state.setStateValue = setStateValue;
  state.root.style.height = `${data.height}px`;
  if (state.sig === data.sig && state.drawn) return; // same view (a rerun for a click or a selection)
  state.sig = data.sig;
  state.pending = data;
  const started = performance.now();

  loadPlotly(data.plotly_url)
    .then((Plotly) => {
      if (state.pending !== data) return; // a newer payload arrived while plotly.js loaded
      const loaded = performance.now();
      const { traces, members } = buildTraces(data);
      state.data = data;
      state.members = members;
      state.tip.hidden = true;
      const config = {
        displaylogo: false,
        scrollZoom: true,
        responsive: true,
        doubleClick: "reset",
        modeBarButtonsToRemove: ["toImage", "autoScale2d"],
      };
      return Plotly.react(state.plot, traces, layoutFor(data, state), config).then(() => {
        state.drawn = true;
        state.status.hidden = true;
        state.root.setAttribute("data-points", String(data.x.length));
        state.root.dataset.loadMs = String(Math.round(loaded - started)); // timings for benchmarks
        state.root.dataset.drawMs = String(Math.round(performance.now() - loaded));
        bindEvents(state);
      });
    })
    .catch((error) => {
      state.status.hidden = false;
      state.status.classList.add("error");
      state.status.textContent = `The map could not be drawn: ${error.message}`;
    });
}
