// Sortable table in plain HTML and CSS, for st.components.v2 (mounted without shadow DOM).
//
// Python sends (components/table/__init__.py): columns [{key, title, kind: "text" | "int" | "percent", help}],
// n (rows), cells {key: n values; numbers may be null}, ids (what a click on each row reports), clickable, hint
// (what a click does), max_height (px; the body scrolls under the header), sig (a hash of all that).
//
// Text from the data is set with textContent or setAttribute: never parsed as HTML.
// Sends back (setTriggerValue): "clicked" = the id of a clicked row (click, Enter or Space on a focused row).
// Click a header (or Enter on it) to sort by that column; again to reverse. Numbers sort with empty cells last.
// For tests and benchmarks: root[data-testid="indoor-table"] carries data-n (rows), data-sort ("key:asc|desc" or
// "") and data-drawn (= sig) once drawn; each body row carries data-id (its id as text).

function buildRoot(parentElement) {
  const root = el("div", "indoor-table", parentElement);
  root.setAttribute("data-testid", "indoor-table");
  const scroll = el("div", "indoor-table-scroll", root);
  const tableEl = el("table", "indoor-table-grid", scroll);
  const head = el("thead", "", tableEl);
  const body = el("tbody", "", tableEl);
  const state = { root, scroll, head, body, sig: null, data: null, sortKey: null, descending: false };
  head.addEventListener("click", (event) => {
    const button = event.target.closest ? event.target.closest("button[data-key]") : null;
    if (button) sortBy(state, button.getAttribute("data-key"));
  });
  body.addEventListener("click", (event) => choose(state, event.target));
  body.addEventListener("keydown", (event) => {
    if (event.key === "Enter" || event.key === " ") {
      event.preventDefault();
      choose(state, event.target);
    }
  });
  root._indoor = state;
  return state;
}

function sortBy(state, key) {
  if (state.sortKey === key) state.descending = !state.descending;
  else {
    state.sortKey = key;
    const column = state.data.columns.find((c) => c.key === key);
    state.descending = !!column && column.kind !== "text"; // numbers: largest first; names: A to Z
  }
  drawBody(state);
  drawHead(state);
}

function choose(state, target) {
  if (!state.data || !state.data.clickable) return;
  const row = target && target.closest ? target.closest("tr[data-index]") : null;
  if (row) state.setTriggerValue("clicked", state.data.ids[Number(row.getAttribute("data-index"))]);
}

function order(state) {
  const { data, sortKey, descending } = state;
  const rows = Array.from({ length: data.n }, (_, i) => i);
  if (!sortKey) return rows;
  const values = data.cells[sortKey];
  const column = data.columns.find((c) => c.key === sortKey);
  const text = column && column.kind === "text";
  const sign = descending ? -1 : 1;
  return rows.sort((a, b) => {
    const va = values[a];
    const vb = values[b];
    const emptyA = va === null || va === undefined || va === "";
    const emptyB = vb === null || vb === undefined || vb === "";
    if (emptyA || emptyB) return emptyA === emptyB ? a - b : emptyA ? 1 : -1; // empty cells last, either way
    const cmp = text ? String(va).localeCompare(String(vb), undefined, { sensitivity: "base" }) : va - vb;
    return cmp === 0 ? a - b : sign * cmp;
  });
}

function drawHead(state) {
  const { data } = state;
  const row = el("tr", "");
  for (const column of data.columns) {
    const th = el("th", `indoor-table-${column.kind}`, row);
    const sorted = state.sortKey === column.key;
    th.setAttribute("aria-sort", sorted ? (state.descending ? "descending" : "ascending") : "none");
    const button = el("button", "indoor-table-sort", th);
    button.type = "button";
    button.setAttribute("data-key", column.key);
    button.title = (column.help ? `${column.help}\n` : "") + "Click to sort";
    el("span", "", button).textContent = column.title;
    el("span", "indoor-table-arrow", button).textContent = sorted ? (state.descending ? "▼" : "▲") : "";
  }
  state.head.replaceChildren(row);
  state.root.setAttribute("data-sort", state.sortKey ? `${state.sortKey}:${state.descending ? "desc" : "asc"}` : "");
}

function cell(tr, column, value) {
  const td = el("td", `indoor-table-${column.kind}`, tr);
  const empty = value === null || value === undefined;
  if (column.kind === "percent") {
    const track = el("span", "indoor-table-track", td);
    if (!empty) el("span", "indoor-table-fill", track).style.width = `${Math.min(100, Math.max(0, value))}%`;
    el("span", "indoor-table-number", td).textContent = empty ? "–" : `${value.toFixed(1)} %`;
  } else if (column.kind === "int") {
    td.textContent = empty ? "–" : value.toLocaleString("en-US");
  } else {
    td.textContent = empty ? "" : String(value);
    td.title = td.textContent; // a long name is ellipsised in the cell
  }
}

function drawBody(state) {
  const { data } = state;
  const rows = [];
  for (const i of order(state)) {
    const tr = el("tr", data.clickable ? "is-clickable" : "");
    tr.setAttribute("data-index", String(i));
    tr.setAttribute("data-id", String(data.ids[i]));
    if (data.clickable) {
      tr.tabIndex = 0;
      if (data.hint) tr.title = data.hint;
    }
    for (const column of data.columns) cell(tr, column, data.cells[column.key][i]);
    rows.push(tr);
  }
  state.body.replaceChildren(...rows);
}

export default function (component) {
  const { data, parentElement, setTriggerValue } = component;
  if (!data || !Array.isArray(data.columns)) return;
  const state = parentElement.querySelector(".indoor-table")?._indoor || buildRoot(parentElement);
  state.setTriggerValue = setTriggerValue;
  if (state.sig === data.sig && state.root.hasAttribute("data-drawn")) return; // same rows (e.g. after a click)
  state.sig = data.sig;
  state.data = data;
  if (state.sortKey && !data.columns.some((c) => c.key === state.sortKey)) state.sortKey = null;
  state.scroll.style.maxHeight = data.max_height ? `${data.max_height}px` : "";
  drawHead(state);
  drawBody(state);
  state.root.setAttribute("data-n", String(data.n));
  state.root.setAttribute("data-drawn", data.sig);
}
