// Horizontal bar list in plain HTML and CSS, for st.components.v2 (mounted without shadow DOM).
//
// Python sends (components/bars/__init__.py): labels, ids (what a click on each row reports), values (numbers or
// null: an empty bar), colours (one hex colour per bar), text (shown at the end of each row), hover (one plain
// text per row, lines split by "\n"), domain [low, high], diverging (bars from a zero line in the middle),
// clickable (rows are buttons), hint (an extra tooltip line on clickable rows), max_height (px; the list scrolls
// beyond it), sig (a hash of all that).
//
// Text from the data is set with textContent or setAttribute: never parsed as HTML.
// Sends back (setTriggerValue): "clicked" = the id of a clicked row.
// For tests and benchmarks: root[data-testid="indoor-bars"] carries data-n (rows) and data-drawn (= sig) once
// drawn; each row carries data-id (its id as text) and data-index.

const ROW_PITCH = 23; // px from one row to the next: style.css's grid-auto-rows (22px) + row-gap (1px)

function buildRoot(parentElement) {
  const root = el("div", "indoor-bars", parentElement);
  root.setAttribute("data-testid", "indoor-bars");
  const list = el("div", "indoor-bars-list", root);
  const more = el("div", "indoor-bars-more", root);
  more.hidden = true;
  const tip = el("div", "indoor-tip indoor-bars-tip", root);
  tip.hidden = true;
  tip.setAttribute("role", "tooltip");
  const state = { root, list, more, tip, sig: null, data: null, rows: [] };
  list.addEventListener("mousemove", (event) => onMove(state, event));
  list.addEventListener("mouseleave", () => hideTip(state));
  list.addEventListener("focusin", (event) => onFocus(state, event));
  list.addEventListener("focusout", () => hideTip(state));
  list.addEventListener("click", (event) => onClick(state, event));
  // the page scrolled under a still pointer (Streamlit scrolls its main container): the tooltip would be stale
  const onPageScroll = () => {
    if (!root.isConnected) document.removeEventListener("scroll", onPageScroll, true);
    else if (!tip.hidden) hideTip(state);
  };
  document.addEventListener("scroll", onPageScroll, { capture: true, passive: true });
  root._indoor = state;
  return state;
}

// the fill's position in its track, in percent: [left, width] (or [right, width] for a diverging negative bar)
function geometry(value, data) {
  const [low, high] = data.domain;
  if (value === null || value === undefined || Number.isNaN(value)) return null;
  if (data.diverging) {
    const share = Math.min(1, Math.abs(value) / high) * 50;
    return { side: value < 0 ? "right" : "left", offset: 50, width: share };
  }
  const share = Math.min(1, Math.max(0, (value - low) / (high - low))) * 100;
  return { side: "left", offset: 0, width: share };
}

function tipLines(data, i) {
  const label = data.labels[i];
  const lines = String(data.hover[i] ?? "").split("\n").filter((line) => line.length > 0);
  // the full label is always in the tooltip (a long one is ellipsised in the row)
  if (!lines.some((line) => line.includes(label))) lines.unshift(label);
  return lines;
}

function draw(state) {
  const data = state.data;
  const n = data.labels.length;
  const list = state.list;
  list.replaceChildren();
  list.classList.toggle("is-diverging", !!data.diverging);
  // a list taller than max_height scrolls, cut through the middle of a row (the cut shows there is more)
  const long = !!data.max_height && n * ROW_PITCH - 1 > data.max_height;
  list.style.maxHeight = long ? `${(Math.max(2, Math.floor(data.max_height / ROW_PITCH)) - 0.5) * ROW_PITCH}px` : "";
  list.style.overflowY = long ? "auto" : "";
  state.rows = [];
  for (let i = 0; i < n; i++) {
    const row = el(data.clickable ? "button" : "div", "indoor-bars-row", list);
    if (data.clickable) {
      row.type = "button";
      row.classList.add("is-clickable");
    }
    row.setAttribute("data-index", String(i));
    row.setAttribute("data-id", String(data.ids[i]));
    const lines = tipLines(data, i);
    row.setAttribute("aria-label", [...lines, ...(data.clickable && data.hint ? [data.hint] : [])].join(". "));
    const label = el("span", "indoor-bars-label", row);
    label.textContent = data.labels[i];
    const track = el("span", "indoor-bars-track", row);
    if (data.diverging) el("span", "indoor-bars-zero", track);
    const value = data.values[i];
    const g = geometry(value, data);
    if (g && g.width > 0) {
      const fill = el("span", "indoor-bars-fill", track);
      fill.style[g.side] = `${g.offset}%`;
      fill.style.width = `${g.width}%`;
      fill.style.backgroundColor = data.colours[i];
    }
    const text = el("span", "indoor-bars-value", row);
    text.textContent = data.text[i];
    if (value === null || value === undefined) text.classList.add("is-empty");
    state.rows.push(row);
  }
  list.classList.toggle("is-scrolling", long);
  state.more.hidden = !long;
  state.more.textContent = long ? `${n} rows: scroll the list for all of them` : "";
  state.root.setAttribute("data-n", String(n));
  state.root.setAttribute("data-drawn", data.sig);
}

function rowIndex(target) {
  const row = target && target.closest ? target.closest(".indoor-bars-row") : null;
  return row ? Number(row.getAttribute("data-index")) : -1;
}

function fillTip(state, i) {
  const data = state.data;
  const tip = state.tip;
  tip.replaceChildren();
  tipLines(data, i).forEach((line, k) => {
    el("div", k === 0 ? "indoor-tip-head" : "indoor-tip-line", tip).textContent = line;
  });
  if (data.clickable && data.hint) el("div", "indoor-tip-hint", tip).textContent = data.hint;
  tip.hidden = false;
  state.tipIndex = i;
}

// place the tooltip at (x, y) in the root's coordinates: right of and below the point, flipped when it would leave
// the root on that side (and there is room on the other)
function placeTip(state, x, y, gap = 14) {
  const tip = state.tip;
  const width = state.root.clientWidth;
  const height = state.root.clientHeight;
  const tipWidth = tip.offsetWidth || 220;
  const tipHeight = tip.offsetHeight || 60;
  const left = x + gap + tipWidth > width ? x - tipWidth - gap : x + gap;
  const top = y + gap + tipHeight > height && y - tipHeight - gap >= 0 ? y - tipHeight - gap : y + gap;
  tip.style.left = `${Math.max(0, Math.min(left, width - tipWidth))}px`;
  tip.style.top = `${Math.max(0, top)}px`;
}

function onMove(state, event) {
  const i = rowIndex(event.target);
  if (i < 0) {
    hideTip(state);
    return;
  }
  if (i !== state.tipIndex || state.tip.hidden) fillTip(state, i);
  const box = state.root.getBoundingClientRect();
  placeTip(state, event.clientX - box.left, event.clientY - box.top);
}

function onFocus(state, event) {
  const i = rowIndex(event.target);
  if (i < 0) return;
  fillTip(state, i);
  const box = state.root.getBoundingClientRect();
  const row = state.rows[i].getBoundingClientRect();
  const track = state.rows[i].querySelector(".indoor-bars-track").getBoundingClientRect();
  placeTip(state, track.left - box.left, row.bottom - box.top, 2);
}

function hideTip(state) {
  state.tip.hidden = true;
  state.tipIndex = -1;
}

function onClick(state, event) {
  if (!state.data || !state.data.clickable) return;
  const i = rowIndex(event.target);
  if (i < 0) return;
  state.setTriggerValue("clicked", state.data.ids[i]);
}

export default function (component) {
  const { data, parentElement, setTriggerValue } = component;
  if (!data || !Array.isArray(data.labels)) return;
  const state = parentElement.querySelector(".indoor-bars")?._indoor || buildRoot(parentElement);
  state.setTriggerValue = setTriggerValue;
  if (state.sig === data.sig && state.root.hasAttribute("data-drawn")) return; // same rows (e.g. after a click)
  state.sig = data.sig;
  state.data = data;
  hideTip(state);
  draw(state);
}
