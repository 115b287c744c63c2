"""Review: a queue of images judged one at a time against the classes' definition cards; class definitions;
annotators and their disagreements.

Deep links: ``/Review?true=bar&pred=deli&split=test`` (a confusion pair), ``?source=class&class=bar``,
``?source=issues``, ``?source=selection`` (the embedding map's selection), ``?source=disagreements``; ``sample``
is the image on screen; ``view=cards`` / ``view=annotators`` open the other sections.
Keyboard: K keep · P relabel to predicted · L relabel to the chosen class · M multi-label · U unsure · X remove ·
← previous · → next · S skip · Z undo.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
import streamlit as st

import ui
from indoor import explore, review
from indoor.cache import CacheError
from indoor.decisions import TAGS, Decision, DecisionError
from indoor.metrics import most_confused_pairs

cache = ui.setup_page("Review", ":material/checklist:")
classes = cache.classes
samples = cache.samples
store = ui.decision_store(cache)
if store is None:
    st.stop()
col = ui.columns(cache)
who = ui.annotator()

VIEWS = {"queue": "Review queue", "cards": "Class definitions", "annotators": "Annotators"}
present = [s for s in ("test", "train", "val") if (samples["split"] == s).any()]
SPLITS = ["all"] + present
SELECTION_KEY = "selection_rows"  # row numbers handed over by other pages (the embedding map's selection)
DEFAULT_TAGS = {"relabel": "incorrect label", "multi_label": "multi-class", "unsure": "ambiguous"}


def _defaults() -> tuple[str, str, str]:
    """The most confused pair (over all splits) and the class with the most errors."""
    matrix = ui.confusion(cache, "all")
    pairs = most_confused_pairs(matrix, classes, top=1)
    true, pred = (pairs["true"].iloc[0], pairs["pred"].iloc[0]) if len(pairs) else (classes[0], classes[0])
    errors = matrix.sum(axis=1) - np.diag(matrix)
    return true, pred, classes[int(np.argmax(errors))]


DEFAULT_TRUE, DEFAULT_PRED, DEFAULT_CLASS = _defaults()
sample_ok = lambda raw: raw if raw in cache.row_of else None  # noqa: E731
PARAMS = {
    "view": ui.choice_param("rv.view", "queue", list(VIEWS)),
    "source": ui.choice_param("rv.source", "pair", list(review.SOURCES)),
    "true": ui.UrlParam("rv.true", DEFAULT_TRUE, lambda raw: raw if raw in classes else None),
    "pred": ui.UrlParam("rv.pred", DEFAULT_PRED, lambda raw: raw if raw in classes else None),
    "class": ui.UrlParam("rv.class", ui.ANY, lambda raw: raw if raw in classes or raw == ui.ANY else None),
    "split": ui.choice_param("rv.split", "all", SPLITS),
    "errors": ui.bool_param("rv.errors", False),
    "flagged": ui.bool_param("rv.flagged", True),
    "sample": ui.UrlParam("rv.sample", None, sample_ok),
    "card": ui.UrlParam("rv.card", DEFAULT_CLASS, lambda raw: raw if raw in classes else None),
}
ui.url_sync_in("review", PARAMS)


# ================================================================================================ helpers


def _set_annotator(name: str) -> None:
    """Switch the current reviewer (the same one ui.py's sidebar shows)."""
    setter = getattr(ui, "set_annotator", None)
    if setter is not None:
        setter(name)
    else:
        st.session_state[getattr(ui, "_ANNOTATOR", "indoor.annotator")] = name


def _tick_key(qualified: str) -> str:
    return "rv.tick." + hashlib.blake2b(qualified.encode("utf-8"), digest_size=6).hexdigest()


@st.cache_resource(max_entries=4, show_spinner="Finding likely label errors (cleanlab, once per cache)…")
def _label_issues(key: str, _cache) -> pd.DataFrame:
    """The cache's label-issue table (computed now when the build did not store it)."""
    if _cache.has_table("label_issues"):
        return _cache.table("label_issues")
    from indoor.analysis import label_issues

    return label_issues.find_label_issues(_cache.samples["label"].to_numpy(), np.asarray(_cache.probs))


def _source() -> review.QueueSource:
    ss = st.session_state
    class_name = ss.get("rv.class")
    return review.QueueSource(
        kind=ss.get("rv.source") or "pair", true=ss.get("rv.true"), pred=ss.get("rv.pred"),
        class_name=None if class_name == ui.ANY else class_name, split=ss.get("rv.split") or "all",
        errors_only=bool(ss.get("rv.errors")), flagged_only=bool(ss.get("rv.flagged", True)),
    )


def _queue(source: review.QueueSource) -> np.ndarray:
    issues = selection = disagreeing = None
    if source.kind == "issues":
        try:
            issues = _label_issues(ui.cache_key(cache), cache)
        except CacheError as exc:
            raise review.QueueError(str(exc)) from None
    elif source.kind == "selection":
        selection = st.session_state.get(SELECTION_KEY) or []
    elif source.kind == "disagreements":
        disagreeing = store.disagreements()["sample_id"].tolist()
    return review.build_queue(source, samples, classes, issues=issues, selection=selection,
                              disagreements=disagreeing, row_of=cache.row_of)


def _reset_position() -> None:
    st.session_state["rv.sample"] = None


def _goto(sample_id: str | None) -> None:
    st.session_state["rv.sample"] = sample_id


def _decide(action: str, sample_id: str, ids: list[str], position: int, decided: frozenset[str],
            attributes: list[str]) -> None:
    """A decision button: save what the form holds as the current reviewer, then go to the next undecided image."""
    ss = st.session_state
    new_label, extra = "", ()
    label = classes[col.label[cache.row_of[sample_id]]]
    pred = classes[col.pred[cache.row_of[sample_id]]]
    if action == "relabel_pred":
        action, new_label = "relabel", pred
    elif action == "relabel":
        new_label = ss.get("rv.to") or ""
        if not new_label:
            ui.notify("error", "Not saved: choose the class to relabel to first.")
            return
    elif action == "multi_label":
        extra = tuple(ss.get("rv.extra") or ())
        if not extra:
            ui.notify("error", f"Not saved: choose the other classes shown besides {label} first.")
            return
    tags = list(ss.get("rv.tags") or [])
    if DEFAULT_TAGS.get(action) and DEFAULT_TAGS[action] not in tags:
        tags.append(DEFAULT_TAGS[action])
    ticked = tuple(a for a in attributes if ss.get(_tick_key(a)))
    decision = Decision(sample_id=sample_id, action=action, new_label=new_label, extra_labels=extra,
                        tags=tuple(tags), note=ss.get("rv.note") or "", annotator=ui.annotator(),
                        attributes=ticked)
    try:
        store.save(decision)
    except DecisionError as exc:
        ui.notify("error", f"Not saved: {'; '.join(exc.problems) or exc}")
        return
    ui.notify("success", f"Saved: {decision.summary()} · {sample_id}")
    following = review.next_undecided(ids, decided | {sample_id}, after=position)
    if following is not None:
        ss["rv.sample"] = ids[following]


def _skip(ids: list[str], position: int, decided: frozenset[str]) -> None:
    following = review.next_undecided(ids, decided, after=position)
    _goto(ids[following] if following is not None else ids[review.step(position, len(ids), 1)])


def _undo_last(ids: list[str]) -> None:
    name = ui.annotator()
    mine = store.current(annotator=name)
    if mine.empty:
        ui.notify("info", f"Nothing to undo: {name} has no standing decision.")
        return
    target = str(mine.loc[mine["event_id"].idxmax(), "sample_id"])
    try:
        now = store.undo_last(annotator=name)
    except DecisionError as exc:
        ui.notify("error", f"Undo failed: {exc}")
        return
    ui.notify("info", f"Undone the last decision on {target}; now: {now.summary() if now else 'no decision'}")
    if target in ids:
        _goto(target)


def _load_form(sample_id: str, mine: Decision | None, attributes: list[str], pred: str, label: str) -> None:
    """Fill the decision form from the reviewer's current decision on this image (or blank) when the image, the
    reviewer or the decision changed."""
    signature = (sample_id, who, mine.event_id if mine else 0, tuple(attributes))
    ss = st.session_state
    if ss.get("rv.loaded") == signature:
        return
    ss["rv.loaded"] = signature
    chosen = set(mine.attributes) if mine else set()
    for a in attributes:
        ss[_tick_key(a)] = a in chosen
    ss["rv.tags"] = [t for t in (mine.tags if mine else ()) if t in TAGS]
    ss["rv.note"] = mine.note if mine else ""
    ss["rv.to"] = mine.new_label if mine and mine.action == "relabel" and mine.new_label != label else None
    ss["rv.extra"] = (list(mine.extra_labels) if mine and mine.action == "multi_label"
                      else ([pred] if pred != label else []))


def _top5_html(row: int) -> str:
    index, values = explore.top_k(np.asarray(cache.probs[row], dtype=float), 5)
    label = int(col.label[row])
    lines = []
    for i, p in zip(index[0], values[0]):
        colour = "#16a34a" if int(i) == label else "#94a3b8"
        weight = "600" if int(i) == label else "400"
        lines.append(
            f'<div style="display:flex;align-items:center;gap:.5rem;font-size:.85rem;line-height:1.5">'
            f'<span style="flex:0 0 42%;overflow:hidden;text-overflow:ellipsis;white-space:nowrap;'
            f'font-weight:{weight}">{ui.esc(classes[int(i)])}</span>'
            f'<span style="flex:1;background:#f1f5f9;height:.6rem;border-radius:3px">'
            f'<span style="display:block;width:{100 * float(p):.1f}%;height:100%;background:{colour};'
            f'border-radius:3px"></span></span>'
            f'<span style="flex:0 0 3rem;text-align:right">{float(p):.0%}</span></div>'
        )
    return '<div style="margin:.25rem 0 .5rem 0">' + "".join(lines) + "</div>"


def _card_checkboxes(class_name: str, role: str, attributes: list[str]) -> None:
    st.markdown(f"**{ui.md(class_name)}** · {role}")
    if not attributes:
        st.caption("No definition yet; add one under Class definitions.")
        return
    for a in attributes:
        _, text = review.unqualify(a)
        st.checkbox(ui.md(text), key=_tick_key(a))


# ================================================================================================ queue view


def queue_view() -> None:
    ss = st.session_state
    kind = st.segmented_control("Queue", list(review.SOURCES), key="rv.source", format_func=review.SOURCES.get,
                                required=True, on_change=_reset_position,
                                help="Which images to review: a confusion pair, one class, the label-issue list, "
                                     "the embedding map's selection or the images annotators disagree on.")
    c2, c3, c4, c5 = st.columns([3, 3, 2, 3], vertical_alignment="bottom")
    if kind == "pair":
        c2.selectbox("Given label", classes, key="rv.true", on_change=_reset_position)
        c3.selectbox("Predicted", classes, key="rv.pred", on_change=_reset_position)
    elif kind in ("class", "issues"):
        options = classes if kind == "class" else [ui.ANY] + classes
        if ss.get("rv.class") not in options:
            ss["rv.class"] = DEFAULT_CLASS
        c2.selectbox("Given label", options, key="rv.class", on_change=_reset_position,
                     format_func=lambda c: "any class" if c == ui.ANY else c)
        if kind == "class":
            c3.toggle("Errors only", key="rv.errors", on_change=_reset_position,
                      help="Only images whose prediction differs from the given label.")
        else:
            c3.toggle("Flagged only", key="rv.flagged", on_change=_reset_position,
                      help="Off: every image, in review order (flagged first).")
    elif kind == "selection":
        n = len(ss.get(SELECTION_KEY) or [])
        c2.caption(f"{n:,} image{'s' if n != 1 else ''} selected on the Embedding map.")
    c4.selectbox("Split", SPLITS, key="rv.split", format_func=ui.split_label, on_change=_reset_position)

    source = _source()
    try:
        rows = _queue(source)
    except review.QueueError as exc:
        st.info(f"No queue: {exc}.", icon=":material/playlist_remove:")
        if kind == "selection":
            st.page_link(ui.MAP_PAGE, label="Open the Embedding map", icon=":material/scatter_plot:")
        return
    ids = [str(s) for s in col.sample_id[rows]]
    decided = frozenset(store.current(annotator=who)["sample_id"])
    done = review.progress(ids, decided)
    c5.caption(f"{len(ids):,} image{'s' if len(ids) != 1 else ''} · most suspicious first")
    if not ids:
        st.info(f"No image in this queue ({source.describe()}).", icon=":material/playlist_remove:")
        return

    position = review.position_of(ids, ss.get("rv.sample"))
    if position is None:
        position = review.next_undecided(ids, decided) or 0
        ss["rv.sample"] = ids[position]
    sample_id = ids[position]
    row = cache.row_of[sample_id]

    st.progress(done.fraction, text=f"{done.text} (by {who}) · image {position + 1:,} of {len(ids):,}")
    if done.remaining == 0:
        st.success(f"Every image of this queue has a decision by {who}.", icon=":material/task_alt:")

    n1, n2, n3, n4, n5 = st.columns([1, 1, 1, 1.4, 3], vertical_alignment="center")
    n1.button("Previous", key="rv.prev", icon=":material/arrow_back:", shortcut="Left", width="stretch",
              disabled=position == 0, on_click=_goto, args=(ids[review.step(position, len(ids), -1)],))
    n2.button("Next", key="rv.next", icon=":material/arrow_forward:", shortcut="Right", width="stretch",
              disabled=position == len(ids) - 1, on_click=_goto, args=(ids[review.step(position, len(ids), 1)],))
    n3.button("Skip", key="rv.skip", icon=":material/skip_next:", shortcut="S", width="stretch",
              on_click=_skip, args=(ids, position, decided), help="Leave this image undecided; go to the next "
                                                                  "undecided one.")
    n4.button("Undo last", key="rv.undo", icon=":material/undo:", shortcut="Z", width="stretch",
              on_click=_undo_last, args=(ids,), help=f"Undo {who}'s most recent decision (any image).")
    n5.caption(f"{ui.md(source.describe())}")

    label_i, pred_i = int(col.label[row]), int(col.pred[row])
    label, pred = classes[label_i], classes[pred_i]
    current = store.for_sample(sample_id)
    mine_rows = current[current["annotator"] == who]
    mine = Decision.from_row(mine_rows.iloc[-1].to_dict()) if len(mine_rows) else None
    cards = store.cards()
    roles = [(label, "given label")] + ([(pred, "predicted")] if pred != label else [])
    attributes = [review.qualify(name, a) for name, _ in roles for a in cards.get(name, [])]
    _load_form(sample_id, mine, attributes, pred, label)

    left, right = st.columns([5, 5], gap="large")
    with left:
        st.image(str(cache.image_path(row)), width="stretch")
        st.caption(ui.md(f"{sample_id} · {ui.split_label(str(col.split[row]))} split · "
                         f"probability of the given label {float(col.self_confidence[row]):.1%}"))
    with right:
        verdict = "correct" if label_i == pred_i else "wrong"
        st.markdown(f"Given **{ui.md(label)}** · predicted **{ui.md(pred)}** "
                    f"{float(col.confidence[row]):.0%} ({verdict})")
        st.html(_top5_html(row))
        if len(current):
            lines = [f"{rec['annotator']}: {Decision.from_row(rec).summary()}"
                     + (f" [{rec['tags']}]" if rec["tags"] else "") for rec in current.to_dict("records")]
            st.caption("Decided: " + " · ".join(ui.md(line) for line in lines))
        with st.form("rv.form", border=True, enter_to_submit=False):
            card_cols = st.columns(len(roles))
            for (name, role), box in zip(roles, card_cols):
                with box:
                    _card_checkboxes(name, role, [a for a in attributes if review.unqualify(a)[0] == name])
            args = (sample_id, ids, position, decided, attributes)
            b1, b2 = st.columns([2, 3])
            b1.form_submit_button("Keep", key="rv.keep", icon=":material/check:", shortcut="K", width="stretch",
                                  on_click=_decide, args=("keep", *args), help=f"The given label {label} is right.",
                                  type="primary")
            b2.form_submit_button(f"Relabel to {ui.md(pred)}", key="rv.topred", icon=":material/swap_horiz:",
                                  shortcut="P", width="stretch", disabled=pred == label, on_click=_decide,
                                  args=("relabel_pred", *args), help=f"The prediction {pred} is right.")
            b3, b4 = st.columns([2, 3])
            b3.form_submit_button("Unsure", key="rv.unsure", icon=":material/help:", shortcut="U", width="stretch",
                                  on_click=_decide, args=("unsure", *args), help="Can't tell which class is right.")
            b4.form_submit_button("Remove", key="rv.remove", icon=":material/delete:", shortcut="X", width="stretch",
                                  on_click=_decide, args=("remove", *args), help="Not a valid image of any class.")
            others = [c for c in classes if c != label]
            r1, r2 = st.columns([3, 2], vertical_alignment="bottom")
            r1.selectbox("Relabel to …", others, key="rv.to", index=None, placeholder="another class")
            r2.form_submit_button("Relabel", key="rv.relabel", icon=":material/edit:", shortcut="L",
                                  width="stretch", on_click=_decide, args=("relabel", *args))
            m1, m2 = st.columns([3, 2], vertical_alignment="bottom")
            m1.multiselect("Also shows (multi-label)", others, key="rv.extra", placeholder="other classes")
            m2.form_submit_button("Multi-label", key="rv.multi", icon=":material/join:", shortcut="M",
                                  width="stretch", on_click=_decide, args=("multi_label", *args))
            t1, t2 = st.columns([3, 2])
            t1.multiselect("Tags", list(TAGS), key="rv.tags", placeholder="why? (optional)")
            t2.text_input("Note", key="rv.note", placeholder="optional")
        st.caption("Keys: K keep · P → predicted · L relabel · M multi-label · U unsure · X remove · "
                   "← → move · S skip · Z undo (Esc leaves a text field first). Ticked attributes are saved with "
                   "the decision.")
        ui.relabel_link(sample_id, label="Open in the relabel form")


# ================================================================================================ cards view


def _save_card(class_name: str) -> None:
    try:
        attributes = review.parse_attributes(st.session_state.get("rv.card_text") or "", class_name=class_name)
        store.set_card(class_name, attributes, annotator=ui.annotator())
    except (review.CardError, DecisionError) as exc:
        ui.notify("error", f"Card not saved: {exc}")
        return
    ui.notify("success", f"Saved the card of {class_name} ({len(attributes)} attribute"
                         f"{'s' if len(attributes) != 1 else ''}).")


def _import_cards(text: str, fmt: str | None) -> None:
    try:
        imported = review.parse_cards(text, classes=classes, fmt=fmt)
    except review.CardError as exc:
        st.session_state["rv.import_error"] = exc.problems or [str(exc)]
        return
    existing = store.cards()
    changed = [name for name, attrs in imported.items() if existing.get(name, []) != attrs]
    try:
        for name in changed:
            store.set_card(name, imported[name], annotator=ui.annotator())
    except DecisionError as exc:
        st.session_state["rv.import_error"] = [str(exc)]
        return
    st.session_state.pop("rv.import_error", None)
    ui.notify("success", f"Imported {len(imported)} card(s): {len(changed)} changed, "
                         f"{len(imported) - len(changed)} already the same.")


def cards_view() -> None:
    ss = st.session_state
    cards = store.cards()
    st.caption("Per class, the attributes that define it (e.g. bar: high chairs, drinks, a bar counter). While "
               "reviewing, the given and predicted classes' cards are shown beside the image as checkboxes; the "
               "ticked ones are saved with the decision and exported with it.")
    edit, overview = st.columns([2, 3], gap="large")
    with edit:
        name = st.selectbox("Class", classes, key="rv.card")
        history = store.card_history(name)
        signature = (name, int(history["event_id"].iloc[-1]) if len(history) else 0)
        if ss.get("rv.card_loaded") != signature:
            ss["rv.card_loaded"] = signature
            ss["rv.card_text"] = "\n".join(cards.get(name, []))
        st.text_area("Attributes, one per line", key="rv.card_text", height=180,
                     placeholder="high chairs\ndrinks on shelves\na bar counter")
        st.button("Save card", key="rv.card_save", type="primary", icon=":material/save:", on_click=_save_card,
                  args=(name,))
        if len(history):
            last = history.iloc[-1]
            st.caption(ui.md(f"Version {len(history)} · {str(last['updated_at'])[:16].replace('T', ' ')} UTC "
                             f"by {last['annotator']}"))
    with overview:
        table = pd.DataFrame({"class": classes, "attributes": [len(cards.get(c, [])) for c in classes],
                              "definition": ["; ".join(cards.get(c, [])) for c in classes]})
        st.dataframe(table, hide_index=True, width="stretch", height=min(38 + 35 * len(classes), 420),
                     column_config={"class": st.column_config.TextColumn(width=130),
                                    "attributes": st.column_config.NumberColumn("n", width=40),
                                    "definition": st.column_config.TextColumn(width=560)})

    st.subheader("Share definitions")
    e1, e2, _ = st.columns([1, 1, 3])
    e1.download_button("Download JSON", review.cards_to_json(cards, classes=classes), file_name="class_cards.json",
                       mime="application/json", icon=":material/download:", on_click="ignore", key="rv.cards_json")
    e2.download_button("Download CSV", review.cards_to_csv(cards, classes=classes), file_name="class_cards.csv",
                       mime="text/csv", icon=":material/download:", on_click="ignore", key="rv.cards_csv")
    i1, i2 = st.columns(2, gap="large")
    with i1:
        upload = st.file_uploader("Import a cards file (JSON or CSV)", type=["json", "csv"], key="rv.cards_file")
        if upload is not None and st.button("Import the file", key="rv.cards_import_file", icon=":material/upload:"):
            fmt = Path(upload.name).suffix.lower().lstrip(".") or None
            try:
                _import_cards(upload.getvalue().decode("utf-8-sig"), fmt if fmt in ("json", "csv") else None)
            except UnicodeDecodeError:
                ss["rv.import_error"] = [f"{upload.name} is not UTF-8 text"]
            st.rerun()
    with i2:
        st.text_area("… or paste JSON / CSV", key="rv.cards_paste", height=100,
                     placeholder='{"bar": ["high chairs", "a bar counter"]}\nor\nclass,attribute\nbar,high chairs')
        st.button("Import the text", key="rv.cards_import_text", icon=":material/upload:",
                  on_click=lambda: _import_cards(ss.get("rv.cards_paste") or "", None))
    problems = ss.get("rv.import_error")
    if problems:
        st.error("Nothing imported:\n" + "\n".join(f"- {ui.md(p)}" for p in problems), icon=":material/error:")


# ================================================================================================ annotators view


def _review_disagreements() -> None:
    st.session_state["rv.source"] = "disagreements"
    st.session_state["rv.view"] = "queue"
    _reset_position()


def annotators_view() -> None:
    ss = st.session_state
    current = store.current()
    counts = (current.groupby("annotator").agg(decisions=("sample_id", "size"), last=("decided_at", "max"))
              .reset_index() if len(current) else pd.DataFrame(columns=["annotator", "decisions", "last"]))
    names = sorted(set(counts["annotator"]) | {who})
    a1, a2 = st.columns([2, 3], gap="large")
    with a1:
        ss["rv.who"] = who

        def switched() -> None:
            _set_annotator(ss["rv.who"])

        st.selectbox("Review as", names, key="rv.who", on_change=switched,
                     help="The current reviewer (also in the sidebar); a new name can be typed in the sidebar.")
        st.caption("Each annotator's decisions are kept separately; progress and undo are per annotator.")
    with a2:
        if len(counts):
            counts["last"] = counts["last"].astype(str).str[:16].str.replace("T", " ")
            st.dataframe(counts, hide_index=True, width="stretch",
                         column_config={"last": "last decision (UTC)"})
        else:
            st.caption("No decisions yet.")

    disagreements = store.disagreements()
    st.subheader(f"Disagreements ({len(disagreements):,})")
    if disagreements.empty:
        st.info("No image has different decisions from two annotators.", icon=":material/handshake:")
        return
    st.button("Review them in the queue", key="rv.review_disagreements", icon=":material/playlist_play:",
              on_click=_review_disagreements)
    size = 10
    pages = explore.page_count(len(disagreements), size)
    page = int(ss.get("rv.dis_page") or 1)
    window = disagreements.iloc[explore.page_slice(len(disagreements), min(page, pages), size)]
    for rec in window.to_dict("records"):
        sid = rec["sample_id"]
        r = cache.row_of.get(sid)
        with st.container(border=True):
            img, text = st.columns([1, 5], gap="medium")
            if r is not None:
                img.image(str(cache.thumb_path(r)), width=120)
            head = (f"**{ui.md(sid)}** · given {ui.md(classes[col.label[r]])} · predicted "
                    f"{ui.md(classes[col.pred[r]])}" if r is not None else f"**{ui.md(sid)}** (not in this cache)")
            text.markdown(head)
            decisions = store.for_sample(sid)
            lines = []
            for d in decisions.to_dict("records"):
                extra = "".join(f" · {k}: {d[k]}" for k in ("tags", "attributes", "note") if d[k])
                lines.append(f"- **{ui.md(d['annotator'])}**: {ui.md(Decision.from_row(d).summary())}{ui.md(extra)}")
            text.markdown("\n".join(lines))
            if r is not None:
                with text:
                    ui.relabel_link(sid, label="Open in the relabel form")
    if pages > 1:
        st.pagination(pages, key="rv.dis_page")


# ================================================================================================ page

# Streamlit ignores keyboard shortcuts while an input has the focus, and a ticked checkbox keeps it: this blurs a
# checkbox of the review form once it is clicked (and any field of the form on Esc), so K, P, ... work right away.
_KEYS_JS = """
export default function () {
  if (window.__indoorReviewKeys) return;
  window.__indoorReviewKeys = true;
  const inForm = (el) => el instanceof HTMLElement && el.closest('[data-testid="stForm"]');
  document.addEventListener("click", (event) => {
    const box = event.target instanceof Element && event.target.closest('[data-testid="stCheckbox"]');
    if (!box || !inForm(box)) return;
    setTimeout(() => {
      const el = document.activeElement;
      if (el instanceof HTMLInputElement && el.type === "checkbox") el.blur();
    }, 0);
  }, true);
  document.addEventListener("keydown", (event) => {
    const el = document.activeElement;
    if (event.key === "Escape" && inForm(el)) setTimeout(() => el.blur(), 0);
  }, true);
}
"""


def _keyboard_focus_helper() -> None:
    st.components.v2.component("indoor_review_keys", js=_KEYS_JS)(key="rv.keys", height=0)



st.title("Review")
view = st.segmented_control("View", list(VIEWS), key="rv.view", format_func=VIEWS.get, required=True,
                            label_visibility="collapsed")
if view == "cards":
    cards_view()
elif view == "annotators":
    annotators_view()
else:
    queue_view()
    _keyboard_focus_helper()
ui.url_sync_out("review", PARAMS)
