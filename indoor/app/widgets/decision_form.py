"""Decisions for one image: the one decision form, one-click quick decisions, and the one save path
(:func:`save_decision`) every page uses. Saved at once, as the current reviewer, to the store beside the cache.

:func:`decision_form` has two layouts over the same fields, filling and saving: the Relabel page's (an action
radio and a Save button, every reviewer's decision in a table) and, with ``buttons``, the Review queue's (a submit
button with a keyboard shortcut per action, the classes' definition cards as checkboxes, ``on_saved`` to move on).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence

import streamlit as st

from indoor.app.loading import decision_store
from indoor.app.state import annotator, notify, set_annotator
from indoor.app.text import ACTION_LABELS, md
from indoor.cache import Cache
from indoor.decisions import ACTIONS, TAGS, Decision, DecisionError
from indoor.decisions.cards import qualify, unqualify

# the tag a one-click decision carries (why the label is wrong)
DEFAULT_TAGS = {"relabel": "incorrect label", "multi_label": "multi-class", "unsure": "ambiguous"}
# decision buttons (key suffix -> action, label, icon, shortcut, help); "relabel_pred": relabel to the prediction
BUTTONS = {
    "keep": ("keep", "Keep", ":material/check:", "K", "The given label {label} is right."),
    "topred": ("relabel_pred", "Relabel to {pred}", ":material/swap_horiz:", "P", "The prediction {pred} is right."),
    "unsure": ("unsure", "Unsure", ":material/help:", "U", "Can't tell which class is right."),
    "remove": ("remove", "Remove", ":material/delete:", "X", "Not a valid image of any class."),
    "relabel": ("relabel", "Relabel", ":material/edit:", "L", ""),
    "multi": ("multi_label", "Multi-label", ":material/join:", "M", ""),
}
KEYS_HELP = ("Keys: K keep · P → predicted · L relabel · M multi-label · U unsure · X remove · ← → move · S skip · "
             "Z undo (Esc leaves a text field first). Ticked attributes are saved with the decision.")

OnSaved = Callable[[str], None]


# ================================================================================================ saving, undoing


def save_decision(cache: Cache, decision: Decision) -> bool:
    """Save one decision (the one save path of the app): a notice says what was saved or why not."""
    store = decision_store(cache)
    if store is None:
        return False
    try:
        store.save(decision)
    except DecisionError as exc:
        notify("error", f"Not saved: {md('; '.join(exc.problems) or exc)}")
        return False
    notify("success", f"Saved: {md(decision.summary())} for {md(decision.sample_id)}")
    return True


def undo_decision(cache: Cache, sample_id: str, who: str) -> None:
    store = decision_store(cache)
    if store is None:
        return
    try:
        now = store.undo(sample_id, annotator=who)
    except DecisionError as exc:
        notify("error", f"Undo failed: {md(exc)}")
        return
    notify("info", f"Undone; now {md(now.summary()) if now else 'no decision'} for {md(sample_id)}")


def undo_last_decision(cache: Cache, who: str, *, then: OnSaved | None = None) -> None:
    """Undo ``who``'s most recent standing decision (any image); ``then(sample_id)`` afterwards (e.g. go there)."""
    store = decision_store(cache)
    if store is None:
        return
    mine = store.current(annotator=who)
    if mine.empty:
        notify("info", f"Nothing to undo: {md(who)} has no standing decision.")
        return
    target = str(mine.loc[mine["event_id"].idxmax(), "sample_id"])
    try:
        now = store.undo_last(annotator=who)
    except DecisionError as exc:
        notify("error", f"Undo failed: {md(exc)}")
        return
    notify("info", f"Undone the last decision on {md(target)}; now: {md(now.summary()) if now else 'no decision'}")
    if then is not None:
        then(target)


# ================================================================================================ quick decisions


def _quick(cache: Cache, sample_id: str, action: str, new_label: str = "", extra: Sequence[str] = ()) -> None:
    tags = (DEFAULT_TAGS[action],) if action in DEFAULT_TAGS else ()
    save_decision(cache, Decision(sample_id=sample_id, action=action, new_label=new_label, extra_labels=tuple(extra),
                                  tags=tags, annotator=annotator()))


def _quick_relabel_to(cache: Cache, sample_id: str, key: str) -> None:
    target = st.session_state.get(f"{key}.to")
    if target:
        _quick(cache, sample_id, "relabel", target)
        st.session_state[f"{key}.to"] = None  # ready for the next image


def quick_decisions(cache: Cache, sample_id: str, *, key: str) -> None:
    """One-click decisions for one image, saved at once as the current reviewer; shows its current decisions."""
    label, pred = _labels(cache, sample_id)
    wrong = label != pred
    st.markdown("**Quick decision**")
    c1, c2 = st.columns([1, 2])
    c1.button("Keep label", key=f"{key}.keep", on_click=_quick, args=(cache, sample_id, "keep"),
              icon=":material/check:", width="stretch", help=f"The given label {md(label)} is right.")
    c2.button(f"Relabel to {md(pred)}", key=f"{key}.topred", disabled=not wrong, width="stretch",
              on_click=_quick, args=(cache, sample_id, "relabel", pred),
              icon=":material/swap_horiz:", help="The prediction is right; the given label is wrong.")
    c3, c4, c5 = st.columns(3)
    c3.button("Multi-class", key=f"{key}.multi", disabled=not wrong, width="stretch",
              on_click=_quick, args=(cache, sample_id, "multi_label"), kwargs={"extra": (pred,)},
              icon=":material/join:", help=f"Both {md(label)} and {md(pred)} are in the image.")
    c4.button("Ambiguous", key=f"{key}.unsure", on_click=_quick, args=(cache, sample_id, "unsure"),
              icon=":material/help:", width="stretch", help="Can't tell which class is right.")
    c5.button("Remove", key=f"{key}.remove", on_click=_quick, args=(cache, sample_id, "remove"),
              icon=":material/delete:", width="stretch", help="Not a valid image of any class.")
    others = [c for c in cache.classes if c != label]
    st.selectbox("Relabel to …", others, key=f"{key}.to", index=None, placeholder="Relabel to another class …",
                 label_visibility="collapsed", on_change=_quick_relabel_to, args=(cache, sample_id, key))
    _current_decisions(cache, sample_id, key=key)


def _current_decisions(cache: Cache, sample_id: str, *, key: str) -> None:
    store = decision_store(cache)
    if store is None:
        return
    current = store.for_sample(sample_id)
    if current.empty:
        st.caption("No decision yet.")
        return
    lines = []
    for rec in current.to_dict("records"):
        summary = Decision.from_row(rec).summary()
        tags = f" [{rec['tags']}]" if rec["tags"] else ""
        lines.append(f"{rec['annotator']}: {summary}{tags} · {str(rec['decided_at'])[:16].replace('T', ' ')} UTC")
    st.caption("  \n".join(md(line) for line in lines))
    mine = annotator()
    if (current["annotator"] == mine).any():
        st.button(f"Undo my decision ({md(mine)})", key=f"{key}.undo", on_click=undo_decision,
                  args=(cache, sample_id, mine), icon=":material/undo:")


# ================================================================================================ the decision form


def decision_form(cache: Cache, sample_id: str, *, key: str, buttons: Sequence[str] = (), cards: bool = False,
                  on_saved: OnSaved | None = None) -> None:
    """The decision form for one image, saved at once (through :func:`save_decision`) as the current reviewer.

    Opens with the reviewer's current decision for this image (if any). Without ``buttons``: an action radio, the
    new label, extra labels, tags, a note, the annotator's name and a Save button, then every reviewer's current
    decision in a table with an undo button (the Relabel page). With ``buttons`` (names of :data:`BUTTONS`, in
    any order): every reviewer's decision in one line, then a form with one submit button per action (keyboard
    shortcuts; a button adds its action's tag, :data:`DEFAULT_TAGS`), the class to relabel to, the other classes
    shown, tags and a note (the Review queue). ``cards``: the given and the predicted class's definition cards as
    checkboxes; the ticked attributes are saved with the decision. ``on_saved(sample_id)`` runs after a save
    (e.g. go to the next image).
    """
    store = decision_store(cache)
    if store is None:
        return
    label, pred = _labels(cache, sample_id)
    who = annotator()
    k = _keys(key, bool(buttons))
    current = store.for_sample(sample_id)
    mine_rows = current[current["annotator"] == who]
    mine = Decision.from_row(mine_rows.iloc[-1].to_dict()) if len(mine_rows) else None
    roles = [(label, "given label")] + ([(pred, "predicted")] if pred != label else [])
    card_of = store.cards() if cards else {}
    attributes = [qualify(name, a) for name, _ in roles for a in card_of.get(name, [])]
    _fill(key, k, (sample_id, who, mine.event_id if mine else 0, tuple(attributes)), mine, label, pred, attributes,
          bool(buttons))
    targets = [c for c in cache.classes if c != label]
    if st.session_state.get(k["new_label"]) not in targets:
        st.session_state[k["new_label"]] = None
    args = (cache, sample_id, key, bool(buttons), tuple(attributes), on_saved)

    if buttons:
        if len(current):
            lines = [f"{rec['annotator']}: {Decision.from_row(rec).summary()}"
                     + (f" [{rec['tags']}]" if rec["tags"] else "") for rec in current.to_dict("records")]
            st.caption("Decided: " + " · ".join(md(line) for line in lines))
        with st.form(f"{key}.form", border=True, enter_to_submit=False):
            if cards:
                _card_checkboxes(key, roles, attributes)
            _button_rows(key, k, buttons, targets, label, pred, args)
            t1, t2 = st.columns([3, 2])
            t1.multiselect("Tags", list(TAGS), key=k["tags"], placeholder="why? (optional)")
            t2.text_input("Note", key=k["note"], placeholder="optional")
        return

    if cards:
        _card_checkboxes(key, roles, attributes)
    action = st.radio("Action", ACTIONS, key=k["action"], horizontal=True, format_func=ACTION_LABELS.get)
    st.selectbox("New label", targets, key=k["new_label"], disabled=action != "relabel",
                 placeholder="Choose the correct class", help=f"Given label: {md(label)}")
    st.multiselect("Extra labels", targets, key=k["extra"], disabled=action != "multi_label",
                   placeholder="Other classes also in the image",
                   help=f"For multi-label: classes present besides {md(label)}.")
    st.multiselect("Tags", list(TAGS), key=k["tags"], placeholder="Why? (optional)")
    st.text_area("Note", key=k["note"], height=80, placeholder="Optional")
    st.session_state[k["annotator"]] = who
    st.text_input("Annotator", key=k["annotator"], on_change=lambda: set_annotator(st.session_state[k["annotator"]]))
    st.button("Save decision", key=f"{key}.save", type="primary", icon=":material/save:", on_click=_submit,
              args=(None, *args))
    if len(current):
        st.markdown("**Current decisions for this image**")
        st.dataframe(current[["annotator", "action", "new_label", "extra_labels", "tags", "note", "decided_at"]],
                     hide_index=True, width="stretch")
        if mine is not None:
            st.button(f"Undo my decision ({md(who)})", key=f"{key}.undo", on_click=undo_decision,
                      args=(cache, sample_id, who), icon=":material/undo:")


def _labels(cache: Cache, sample_id: str) -> tuple[str, str]:
    """(given label, predicted class) of an image."""
    row = cache.row_of[sample_id]
    samples = cache.samples
    return cache.classes[int(samples["label"].iat[row])], cache.classes[int(samples["pred"].iat[row])]


def _keys(key: str, buttons: bool) -> dict[str, str]:
    """Session-state keys of the form's fields (the button layout's class to relabel to is ``<key>.to``)."""
    names = {"action": "action", "new_label": "to" if buttons else "new_label", "extra": "extra", "tags": "tags",
             "note": "note", "annotator": "annotator"}
    return {field: f"{key}.{name}" for field, name in names.items()}


def _tick_key(key: str, qualified: str) -> str:
    """The checkbox key of one card attribute (``class: attribute``, hashed: any text makes a valid key)."""
    return f"{key}.tick." + hashlib.blake2b(qualified.encode("utf-8"), digest_size=6).hexdigest()


def _fill(key: str, k: dict[str, str], signature: tuple, mine: Decision | None, label: str, pred: str,
          attributes: list[str], buttons: bool) -> None:
    """Fill the fields from the reviewer's current decision on this image (or the defaults) when the image, the
    reviewer, the decision or the cards changed, or the page was left and its widgets forgotten."""
    ss = st.session_state
    if ss.get(f"{key}.loaded") == signature and k["tags"] in ss:
        return
    ss[f"{key}.loaded"] = signature
    wrong = pred != label
    chosen = set(mine.attributes) if mine else set()
    for a in attributes:
        ss[_tick_key(key, a)] = a in chosen
    ss[k["tags"]] = [t for t in (mine.tags if mine else ()) if t in TAGS]
    ss[k["note"]] = mine.note if mine else ""
    if buttons:  # "Relabel to <pred>" is a button of its own; "Multi-label" starts with the prediction
        ss[k["new_label"]] = mine.new_label if mine and mine.action == "relabel" else None
        ss[k["extra"]] = (list(mine.extra_labels) if mine and mine.action == "multi_label"
                          else ([pred] if wrong else []))
    else:
        ss[k["action"]] = mine.action if mine else ("relabel" if wrong else "keep")
        ss[k["new_label"]] = mine.new_label if mine and mine.new_label else (pred if wrong else None)
        ss[k["extra"]] = list(mine.extra_labels) if mine else []


def _card_checkboxes(key: str, roles: list[tuple[str, str]], attributes: list[str]) -> None:
    for (name, role), box in zip(roles, st.columns(len(roles))):
        with box:
            st.markdown(f"**{md(name)}** · {md(role)}")
            mine = [a for a in attributes if unqualify(a)[0] == name]
            if not mine:
                st.caption("No definition yet; add one under Class definitions.")
            for a in mine:
                st.checkbox(md(unqualify(a)[1]), key=_tick_key(key, a))


def _button_rows(key: str, k: dict[str, str], names: Sequence[str], targets: list[str], label: str, pred: str,
                 args: tuple) -> None:
    def button(where, name: str, **extra) -> None:
        action, text, icon, shortcut, help_text = BUTTONS[name]
        where.form_submit_button(text.format(pred=md(pred)), key=f"{key}.{name}", icon=icon, shortcut=shortcut,
                                 width="stretch", on_click=_submit, args=(action, *args),
                                 help=help_text.format(label=md(label), pred=md(pred)) or None, **extra)

    for pair in (("keep", "topred"), ("unsure", "remove")):
        shown = [name for name in pair if name in names]
        for name, where in zip(shown, st.columns([2, 3]) if len(shown) == 2 else [st.container()]):
            button(where, name, **({"type": "primary"} if name == "keep" else
                                   {"disabled": pred == label} if name == "topred" else {}))
    if "relabel" in names:
        r1, r2 = st.columns([3, 2], vertical_alignment="bottom")
        r1.selectbox("Relabel to …", targets, key=k["new_label"], index=None, placeholder="another class")
        button(r2, "relabel")
    if "multi" in names:
        m1, m2 = st.columns([3, 2], vertical_alignment="bottom")
        m1.multiselect("Also shows (multi-label)", targets, key=k["extra"], placeholder="other classes")
        button(m2, "multi")


def _submit(action: str | None, cache: Cache, sample_id: str, key: str, buttons: bool, attributes: tuple[str, ...],
            on_saved: OnSaved | None) -> None:
    """A decision button (``action``; None: the action radio's): save what the form holds as the current reviewer,
    then ``on_saved(sample_id)``. Says why nothing was saved when the class to relabel to (or the other classes
    shown) is missing."""
    ss = st.session_state
    k = _keys(key, buttons)
    if not buttons and ss.get(k["annotator"]):  # a name typed into the form and saved in one go
        set_annotator(ss[k["annotator"]])
    label, pred = _labels(cache, sample_id)
    action = action or ss.get(k["action"]) or "keep"
    new_label, extra = "", ()
    if action == "relabel_pred":
        action, new_label = "relabel", pred
    elif action == "relabel":
        new_label = ss.get(k["new_label"]) or ""
        if not new_label:
            notify("error", "Not saved: choose the class to relabel to first.")
            return
    elif action == "multi_label":
        extra = tuple(ss.get(k["extra"]) or ())
        if not extra:
            notify("error", f"Not saved: choose the other classes shown besides {md(label)} first.")
            return
    tags = list(ss.get(k["tags"]) or [])
    if buttons and DEFAULT_TAGS.get(action) and DEFAULT_TAGS[action] not in tags:
        tags.append(DEFAULT_TAGS[action])
    decision = Decision(sample_id=sample_id, action=action, new_label=new_label, extra_labels=extra, tags=tuple(tags),
                        note=ss.get(k["note"]) or "", annotator=annotator(),
                        attributes=tuple(a for a in attributes if ss.get(_tick_key(key, a))))
    if save_decision(cache, decision) and on_saved is not None:
        on_saved(sample_id)
