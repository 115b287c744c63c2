"""The Review page's building blocks: the review queue (its source, position, navigation, the image and the
decision form), the class-definition cards (edit, overview, import / export) and the annotators (who reviews,
their decisions, their disagreements). Session-state keys start with ``rv.``; queue building and progress are
:mod:`indoor.decisions.queue`, the form and its saving :mod:`indoor.app.widgets.decision_form`."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import streamlit as st

from indoor.analysis import explore
from indoor.analysis.metrics import most_confused_pairs
from indoor.app import loading, state, urls
from indoor.app.components.bars import bars
from indoor.app.text import md, split_label
from indoor.app.widgets import decision_form, label_evidence
from indoor.app.widgets.detail import top5_payload
from indoor.cache import Cache, CacheError
from indoor.decisions import Decision, DecisionError, DecisionStore
from indoor.decisions import cards as card_io
from indoor.decisions import queue

SAMPLE_KEY = "rv.sample"  # the image on screen (URL ``sample``)
SELECTION_KEY = "selection_rows"  # row numbers handed over by other pages (the embedding map's selection)
FORM_BUTTONS = ("keep", "topred", "unsure", "remove", "relabel", "multi")


# ================================================================================================ queue


def defaults(cache: Cache) -> tuple[str, str, str]:
    """The most confused pair (over all splits) and the class with the most errors: the queue a visit starts on."""
    classes = cache.classes
    matrix = loading.confusion(cache, "all")
    pairs = most_confused_pairs(matrix, classes, top=1)
    true, pred = (pairs["true"].iloc[0], pairs["pred"].iloc[0]) if len(pairs) else (classes[0], classes[0])
    errors = matrix.sum(axis=1) - np.diag(matrix)
    return true, pred, classes[int(np.argmax(errors))]


def splits(cache: Cache) -> list[str]:
    """"all" and the cache's splits (test, train, val order)."""
    present = set(loading.columns(cache).split)
    return ["all"] + [s for s in ("test", "train", "val") if s in present]


def reset_position() -> None:
    """The queue changed: start at its first undecided image."""
    st.session_state[SAMPLE_KEY] = None


def goto(sample_id: str | None) -> None:
    st.session_state[SAMPLE_KEY] = sample_id


def source() -> queue.QueueSource:
    """The queue source the controls hold."""
    ss = st.session_state
    class_name = ss.get("rv.class")
    return queue.QueueSource(
        kind=ss.get("rv.source") or "pair", true=ss.get("rv.true"), pred=ss.get("rv.pred"),
        class_name=None if class_name == urls.ANY else class_name, split=ss.get("rv.split") or "all",
        errors_only=bool(ss.get("rv.errors")), flagged_only=bool(ss.get("rv.flagged", True)),
    )


def queue_ids(cache: Cache, store: DecisionStore, chosen: queue.QueueSource) -> list[str]:
    """The queue's sample ids, most suspicious first; raises :class:`queue.QueueError` saying why there is none.
    The label-issue list is the cache's table (computed once when the build did not store it)."""
    issues = selection = disagreeing = None
    flag_column = "is_issue"
    if chosen.kind == "issues":
        try:
            tables = loading.analysis_tables(cache)
        except CacheError as exc:
            raise queue.QueueError(str(exc)) from None
        issues = tables["label_issues"]
        if label_evidence.weak_model_message(tables["warnings"]) and "is_suspect" in issues:
            flag_column = "is_suspect"  # a model too weak to judge labels flags nothing: review its suspects
    elif chosen.kind == "selection":
        selection = st.session_state.get(SELECTION_KEY) or []
    elif chosen.kind == "disagreements":
        disagreeing = store.disagreements()["sample_id"].tolist()
    rows = queue.build_queue(chosen, cache.samples, cache.classes, issues=issues, selection=selection,
                             disagreements=disagreeing, row_of=cache.row_of, flag_column=flag_column)
    return [str(s) for s in loading.columns(cache).sample_id[rows]]


def position(ids: list[str], decided: frozenset[str]) -> int:
    """Where in the queue the image on screen is (the first undecided image when none is, or it left the queue)."""
    at = queue.position_of(ids, st.session_state.get(SAMPLE_KEY))
    if at is None:
        at = queue.next_undecided(ids, decided) or 0
        st.session_state[SAMPLE_KEY] = ids[at]
    return at


def _skip(ids: list[str], at: int, decided: frozenset[str]) -> None:
    following = queue.next_undecided(ids, decided, after=at)
    goto(ids[following] if following is not None else ids[queue.step(at, len(ids), 1)])


def _advance(ids: list[str], at: int, decided: frozenset[str], saved: str) -> None:
    """After a save: the next undecided image (stay when every other one is decided)."""
    following = queue.next_undecided(ids, decided | {saved}, after=at)
    if following is not None:
        goto(ids[following])


def _undo_last(cache: Cache, ids: list[str]) -> None:
    decision_form.undo_last_decision(cache, state.annotator(), then=lambda sid: goto(sid) if sid in ids else None)


def navigation(cache: Cache, ids: list[str], at: int, decided: frozenset[str], described: str) -> None:
    """Previous · Next · Skip · Undo last (keyboard: ← → S Z) and what the queue is."""
    who = state.annotator()
    n1, n2, n3, n4, n5 = st.columns([1, 1, 1, 1.4, 3], vertical_alignment="center")
    n1.button("Previous", key="rv.prev", icon=":material/arrow_back:", shortcut="Left", width="stretch",
              disabled=at == 0, on_click=goto, args=(ids[queue.step(at, len(ids), -1)],))
    n2.button("Next", key="rv.next", icon=":material/arrow_forward:", shortcut="Right", width="stretch",
              disabled=at == len(ids) - 1, on_click=goto, args=(ids[queue.step(at, len(ids), 1)],))
    n3.button("Skip", key="rv.skip", icon=":material/skip_next:", shortcut="S", width="stretch",
              on_click=_skip, args=(ids, at, decided),
              help="Leave this image undecided; go to the next undecided one.")
    n4.button("Undo last", key="rv.undo", icon=":material/undo:", shortcut="Z", width="stretch",
              on_click=_undo_last, args=(cache, ids), help=f"Undo {md(who)}'s most recent decision (any image).")
    n5.caption(md(described))


def image_panel(cache: Cache, sample_id: str) -> None:
    """The image at full width and what it is; for a label-issue suspect, its kind and evidence."""
    col = loading.columns(cache)
    row = cache.row_of[sample_id]
    st.image(str(cache.image_path(row)), width="stretch")
    st.caption(md(f"{sample_id} · {split_label(str(col.split[row]))} split · "
                  f"probability of the given label {float(col.self_confidence[row]):.1%}"))
    label_evidence.evidence(cache, label_evidence.stored_issue(cache, row), key="rv.evidence")  # a suspect's kind


def decision_panel(cache: Cache, ids: list[str], at: int, decided: frozenset[str]) -> None:
    """Given and predicted class, the top-5 probabilities, the decisions so far and the decision form (saving
    moves on to the next undecided image), the keys, and a link to the relabel form."""
    col = loading.columns(cache)
    sample_id = ids[at]
    row = cache.row_of[sample_id]
    label, pred = cache.classes[int(col.label[row])], cache.classes[int(col.pred[row])]
    verdict = "correct" if label == pred else "wrong"
    st.markdown(f"Given **{md(label)}** · predicted **{md(pred)}** {float(col.confidence[row]):.0%} ({verdict})")
    bars(top5_payload(cache, row), key="rv.top5")
    decision_form.decision_form(cache, sample_id, key="rv", buttons=FORM_BUTTONS, cards=True,
                                on_saved=lambda saved: _advance(ids, at, decided, saved))
    st.caption(decision_form.KEYS_HELP)
    urls.relabel_link(sample_id, label="Open in the relabel form")


# ================================================================================================ cards


def _save_card(store: DecisionStore, class_name: str) -> None:
    try:
        attributes = card_io.parse_attributes(st.session_state.get("rv.card_text") or "", class_name=class_name)
        store.set_card(class_name, attributes, annotator=state.annotator())
    except (card_io.CardError, DecisionError) as exc:
        state.notify("error", f"Card not saved: {md(exc)}")
        return
    state.notify("success", f"Saved the card of {md(class_name)} ({len(attributes)} attribute"
                            f"{'s' if len(attributes) != 1 else ''}).")


def _import_cards(cache: Cache, store: DecisionStore, text: str, fmt: str | None) -> None:
    try:
        imported = card_io.parse_cards(text, classes=cache.classes, fmt=fmt)
    except card_io.CardError as exc:
        st.session_state["rv.import_error"] = exc.problems or [str(exc)]
        return
    existing = store.cards()
    changed = [name for name, attrs in imported.items() if existing.get(name, []) != attrs]
    try:
        for name in changed:
            store.set_card(name, imported[name], annotator=state.annotator())
    except DecisionError as exc:
        st.session_state["rv.import_error"] = [str(exc)]
        return
    st.session_state.pop("rv.import_error", None)
    state.notify("success", f"Imported {len(imported)} card(s): {len(changed)} changed, "
                            f"{len(imported) - len(changed)} already the same.")


def card_editor(cache: Cache, store: DecisionStore) -> None:
    """One class's card as text (one attribute per line), its Save button and version."""
    ss = st.session_state
    name = st.selectbox("Class", cache.classes, key="rv.card")
    history = store.card_history(name)
    signature = (name, int(history["event_id"].iloc[-1]) if len(history) else 0)
    if ss.get("rv.card_loaded") != signature:
        ss["rv.card_loaded"] = signature
        ss["rv.card_text"] = "\n".join(store.cards().get(name, []))
    st.text_area("Attributes, one per line", key="rv.card_text", height=180,
                 placeholder="high chairs\ndrinks on shelves\na bar counter")
    st.button("Save card", key="rv.card_save", type="primary", icon=":material/save:", on_click=_save_card,
              args=(store, name))
    if len(history):
        last = history.iloc[-1]
        st.caption(md(f"Version {len(history)} · {str(last['updated_at'])[:16].replace('T', ' ')} UTC "
                      f"by {last['annotator']}"))


def cards_overview(cache: Cache, store: DecisionStore) -> None:
    """Every class with its number of attributes and its definition."""
    classes, cards = cache.classes, store.cards()
    table = pd.DataFrame({"class": classes, "attributes": [len(cards.get(c, [])) for c in classes],
                          "definition": ["; ".join(cards.get(c, [])) for c in classes]})
    st.dataframe(table, hide_index=True, width="stretch", height=min(38 + 35 * len(classes), 420),
                 column_config={"class": st.column_config.TextColumn(width=130),
                                "attributes": st.column_config.NumberColumn("n", width=40),
                                "definition": st.column_config.TextColumn(width=560)})


def share_cards(cache: Cache, store: DecisionStore) -> None:
    """Download the cards as JSON or CSV; import a file or pasted text (nothing is imported if anything is
    wrong, and the problems are listed)."""
    ss = st.session_state
    cards, classes = store.cards(), cache.classes
    e1, e2, _ = st.columns([1, 1, 3])
    e1.download_button("Download JSON", card_io.cards_to_json(cards, classes=classes), file_name="class_cards.json",
                       mime="application/json", icon=":material/download:", on_click="ignore", key="rv.cards_json")
    e2.download_button("Download CSV", card_io.cards_to_csv(cards, classes=classes), file_name="class_cards.csv",
                       mime="text/csv", icon=":material/download:", on_click="ignore", key="rv.cards_csv")
    i1, i2 = st.columns(2, gap="large")
    with i1:
        upload = st.file_uploader("Import a cards file (JSON or CSV)", type=["json", "csv"], key="rv.cards_file")
        if upload is not None and st.button("Import the file", key="rv.cards_import_file", icon=":material/upload:"):
            fmt = Path(upload.name).suffix.lower().lstrip(".") or None
            try:
                _import_cards(cache, store, upload.getvalue().decode("utf-8-sig"),
                              fmt if fmt in ("json", "csv") else None)
            except UnicodeDecodeError:
                ss["rv.import_error"] = [f"{upload.name} is not UTF-8 text"]
            st.rerun()
    with i2:
        st.text_area("… or paste JSON / CSV", key="rv.cards_paste", height=100,
                     placeholder='{"bar": ["high chairs", "a bar counter"]}\nor\nclass,attribute\nbar,high chairs')
        st.button("Import the text", key="rv.cards_import_text", icon=":material/upload:",
                  on_click=lambda: _import_cards(cache, store, ss.get("rv.cards_paste") or "", None))
    problems = ss.get("rv.import_error")
    if problems:
        st.error("Nothing imported:\n" + "\n".join(f"- {md(p)}" for p in problems), icon=":material/error:")


# ================================================================================================ annotators


def annotator_picker(store: DecisionStore) -> None:
    """Switch the current reviewer (the same one the sidebar shows) among those with decisions."""
    ss = st.session_state
    who = state.annotator()
    current = store.current()
    ss["rv.who"] = who
    st.selectbox("Review as", sorted(set(current["annotator"]) | {who}), key="rv.who",
                 on_change=lambda: state.set_annotator(ss["rv.who"]),
                 help="The current reviewer (also in the sidebar); a new name can be typed in the sidebar.")
    st.caption("Each annotator's decisions are kept separately; progress and undo are per annotator.")


def annotator_table(store: DecisionStore) -> None:
    """Per annotator: how many standing decisions, and when the last one was made."""
    current = store.current()
    if current.empty:
        st.caption("No decisions yet.")
        return
    counts = (current.groupby("annotator").agg(decisions=("sample_id", "size"), last=("decided_at", "max"))
              .reset_index())
    counts["last"] = counts["last"].astype(str).str[:16].str.replace("T", " ")
    st.dataframe(counts, hide_index=True, width="stretch", column_config={"last": "last decision (UTC)"})


def _review_disagreements() -> None:
    st.session_state["rv.source"] = "disagreements"
    st.session_state["rv.view"] = "queue"
    reset_position()


def disagreements(cache: Cache, store: DecisionStore, *, size: int = 10) -> None:
    """The images two annotators decided differently, ``size`` a page, each with every annotator's decision."""
    ss = st.session_state
    found = store.disagreements()
    st.subheader(f"Disagreements ({len(found):,})")
    if found.empty:
        st.info("No image has different decisions from two annotators.", icon=":material/handshake:")
        return
    st.button("Review them in the queue", key="rv.review_disagreements", icon=":material/playlist_play:",
              on_click=_review_disagreements)
    col, classes = loading.columns(cache), cache.classes
    pages = explore.page_count(len(found), size)
    page = int(ss.get("rv.dis_page") or 1)
    for sid in found["sample_id"].iloc[explore.page_slice(len(found), min(page, pages), size)]:
        r = cache.row_of.get(sid)
        with st.container(border=True):
            img, text = st.columns([1, 5], gap="medium")
            if r is not None:
                img.image(str(cache.thumb_path(r)), width=120)
            text.markdown(f"**{md(sid)}** · given {md(classes[col.label[r]])} · predicted "
                          f"{md(classes[col.pred[r]])}" if r is not None else f"**{md(sid)}** (not in this cache)")
            lines = []
            for d in store.for_sample(sid).to_dict("records"):
                extra = "".join(f" · {k}: {d[k]}" for k in ("tags", "attributes", "note") if d[k])
                lines.append(f"- **{md(d['annotator'])}**: {md(Decision.from_row(d).summary())}{md(extra)}")
            text.markdown("\n".join(lines))
            if r is not None:
                with text:
                    urls.relabel_link(sid, label="Open in the relabel form")
    if pages > 1:
        st.pagination(pages, key="rv.dis_page")
