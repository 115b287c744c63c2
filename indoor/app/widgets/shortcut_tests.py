"""Shortcut findings with their intervention tests: the verdict first, then the evidence (before/after thumbnails
with P(class) before -> after, the effect with its interval, the control, the other direction, the classes whose
images moved most and a second test on the images of the class nearest to the finding's: at build time, or on
demand), the remedy of a confirmed shortcut, and for a finding without causal effect the label issues it is made
of. A finding whose second test confirms it is a confirmed shortcut on that class's images.

A finding is a suspicion until its test confirms it: nothing here calls a finding a shortcut otherwise. Tests
run at build time for the top findings; any other is tested on demand (a button: the model runs in
:func:`indoor.app.loading.run_shortcut_test`, torch imported then) and stored in the cache.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from indoor.analysis import intervention_report, interventions
from indoor.analysis.shortcuts import PROPERTIES
from indoor.app import loading, urls
from indoor.app.text import md
from indoor.cache import Cache

LABEL_ISSUES_PAGE = "pages/5_Label_issues.py"
GROUP_TITLES = {"confirmed": "Confirmed shortcuts", "open": "Not yet decided",
                "no_effect": "No causal effect — correlation or label errors"}
GROUP_HELP = {
    "confirmed": "The model's probability of the class rises when only this property is moved into the bin, more "
                 "than when it is moved the other way: in images of every other class, or (\"on … images\") in fresh "
                 "images of the class the model finds nearest, tested alone.",
    "open": "Untested findings, and tests whose interval is too wide or too small to decide.",
    "no_effect": "Moving the property into the bin barely changes the model's probability of the class: the finding "
                 "comes from what its images show, or from their labels.",
}
ICONS = {"confirmed": ":material/bolt:", "no_effect": ":material/block:", "inconclusive": ":material/help:",
         None: ":material/science:"}
SOURCES = {"build": "at build time", "analyze": "by python -m indoor analyze", "on demand": "on demand"}
_ASKED = "indoor.sc.asked"  # session state: finding keys whose test the user asked for
_ASKED_CLASS = "indoor.sc.asked_class"  # session state: (cache, test key, class) one-class tests asked for


def findings_view(cache: Cache, findings: pd.DataFrame, tables: dict[str, pd.DataFrame], *, key: str) -> None:
    """The ranked findings in three groups by verdict (confirmed, not yet decided, no causal effect), each as a
    card; untested ones get a button that tests them now."""
    _run_asked(cache, findings, tables["shortcut_findings"])
    _run_asked_class_tests(cache)  # before the verdicts are read: a confirmed second test changes its finding's
    joined = intervention_report.with_tests(findings, loading.shortcut_tests(cache), every=tables["shortcut_findings"])
    group = np.where(joined["test_verdict"] == "confirmed", "confirmed",
                     np.where(joined["test_verdict"] == "no_effect", "no_effect", "open"))
    flags = _issue_flags(cache, tables)
    for name in GROUP_TITLES:
        part = joined[group == name]
        if part.empty:
            continue
        st.subheader(f"{GROUP_TITLES[name]} ({len(part)})", help=GROUP_HELP[name])
        for i, finding in part.iterrows():
            finding_card(cache, finding.to_dict(), flags, key=f"{key}.{i}")


def _run_asked(cache: Cache, findings: pd.DataFrame, every: pd.DataFrame) -> None:
    """Run the tests the user asked for in the previous run (button callbacks only record the request)."""
    asked: set = st.session_state.setdefault(_ASKED, set())
    for finding in findings.to_dict("records"):
        marker = (cache.key, interventions.finding_key(finding["property"], finding["bin"], finding["class"]))
        if marker not in asked:
            continue
        asked.discard(marker)
        with st.spinner(f"Testing {md(PROPERTIES[finding['property']])} → {md(finding['class'])}: editing, "
                        "re-embedding and scoring about 200 images…"):
            try:
                loading.run_shortcut_test(cache, finding, every)
            except (OSError, ValueError, RuntimeError) as exc:
                st.error(f"The test could not run: {md(exc)}")


def _run_asked_class_tests(cache: Cache) -> None:
    """Run the second tests (one class's images alone) the user asked for in the previous run."""
    asked: set = st.session_state.setdefault(_ASKED_CLASS, set())
    mine = sorted(m for m in asked if m[0] == cache.key)
    if not mine:
        return
    tests = loading.shortcut_tests(cache).drop_duplicates("key", keep="last").set_index("key")
    for marker in mine:
        asked.discard(marker)
        _, key, cls = marker
        if key not in tests.index:
            continue
        with st.spinner(f"Testing {md(cls)} images alone: editing, re-embedding and scoring up to 64 images…"):
            try:
                loading.run_class_test(cache, {**tests.loc[key].to_dict(), "key": key}, cls)
            except (OSError, ValueError, RuntimeError) as exc:
                st.error(f"The test could not run: {md(exc)}")


def _issue_flags(cache: Cache, tables: dict[str, pd.DataFrame]) -> np.ndarray:
    flags = np.zeros(len(cache.samples), dtype=bool)
    issues = tables.get("label_issues")
    if issues is not None and {"row", "is_issue"} <= set(issues.columns):
        flags[issues["row"].to_numpy(np.int64)] = issues["is_issue"].to_numpy(bool)
    return flags


def finding_card(cache: Cache, finding: dict[str, Any], flags: np.ndarray, *, key: str) -> None:
    """One finding: verdict, the finding itself, then the test's evidence (or a button to test it)."""
    verdict = finding.get("test_verdict") if isinstance(finding.get("test_verdict"), str) else None
    with st.container(border=True):
        where = f"{md(PROPERTIES[finding['property']])} {md(finding['bin_label'])} → {md(finding['class'])}"
        rank = f"#{int(finding['rank'])}" if finding["rank"] > 0 else f"repeats #{int(finding['redundant_with'])}"
        label = "Not tested yet" if verdict is None else interventions.VERDICTS[verdict] + (
            "" if verdict == "confirmed" else f" — {finding['test_cause']}")
        if isinstance(finding.get("test_scope"), str):
            label += f" on {finding['test_scope']} images"
        if isinstance(finding.get("test_via"), str):
            label += f" — through {PROPERTIES[finding['test_via']]}"
        st.markdown(f"{ICONS[verdict]} **{md(label)} · {rank} · {where}**")
        st.caption(md(finding["summary"]) + f" · t = {finding['t']:.1f}"
                   + (f" · same images: {md(finding['also'])}" if finding.get("also") else ""))
        if verdict is None:
            marker = (cache.key, interventions.finding_key(finding["property"], finding["bin"], finding["class"]))
            st.button("Test this finding", key=f"{key}.test", icon=":material/science:",
                      on_click=lambda: st.session_state.setdefault(_ASKED, set()).add(marker),
                      help="Moves only this property of about 64 images of other classes into the bin and re-scores "
                           "them with the model (a few seconds; the first test also loads the model).")
        else:
            evidence(cache, finding, key=key)
        if verdict == "confirmed":
            remedy_box(cache, finding)
        if verdict != "confirmed" or isinstance(finding.get("test_scope"), str):  # its own images: label errors?
            made_of(cache, finding, flags, key=key)
        urls.class_pair_link(None, finding["class"], None, label=f"All images wrongly predicted {md(finding['class'])}",
                             icon=":material/photo_library:")


def evidence(cache: Cache, finding: dict[str, Any], *, key: str) -> None:
    """The effect with its interval, the flips, the control, the other direction and the before/after images."""
    cls = finding["class"]
    t = {k[5:]: v for k, v in finding.items() if k.startswith("test_")}
    if isinstance(t.get("scope"), str):  # confirmed by the second test, on one class's images: that first
        one_class_test(cache, {**t, "verdict": finding.get("own_verdict")}, key=f"{key}.class")
        own = interventions.VERDICTS.get(finding.get("own_verdict"), "?").lower()
        share = t.get("label_issue_share")
        issues = f"; {share:.0%} of the finding's own images are label issues" if share == share and share else ""
        st.caption(md(f"The first test, on images of every other class: {own}{issues}. A shortcut that acts on "
                      f"{t['scope']} images only is diluted there:"))
    if isinstance(t.get("via"), str):
        own = interventions.VERDICTS.get(finding.get("own_verdict"), "not tested")
        st.caption(md(f"Moving {PROPERTIES[finding['property']]} alone: {own.lower()} (mean ΔP "
                      f"{finding['own_effect']:+.3f}). The same images are also {PROPERTIES[t['via']]} "
                      f"{t['bin_label']}, and moving that property confirms the shortcut:"))
    st.caption(md(f"Test: {t['reason']}."))
    a, b, c, d = st.columns(4)
    a.metric(f"Mean ΔP({md(cls)}) into the bin", f"{t['effect']:+.3f}",
             help=f"95 % bootstrap interval {t['effect_lo']:+.3f} .. {t['effect_hi']:+.3f}; {int(t['n'])} images of "
                  f"other classes ({int(t['n_heldout'])} held out), P({md(cls)}) {t['p_before']:.3f} → "
                  f"{t['p_after']:.3f}")
    a.caption(f"interval {t['effect_lo']:+.3f} .. {t['effect_hi']:+.3f}")
    b.metric(f"Flipped to {md(cls)}", f"{t['flip_share']:.0%}", help="Share of the edited images predicted the "
                                                                       "class after the edit (not before).")
    c.metric("Control: the opposite move", f"{t['control_effect']:+.3f}",
             help=f"Interval {t['control_lo']:+.3f} .. {t['control_hi']:+.3f}; flipped {t['control_flip_share']:.0%}")
    c.caption(f"interval {t['control_lo']:+.3f} .. {t['control_hi']:+.3f}")
    if t["reverse_n"] > 0:
        d.metric(f"{md(cls)} images moved out", f"{t['reverse_effect']:+.3f}",
                 help=f"{int(t['reverse_n'])} images labelled {md(cls)} in the bin, moved to the data set's median: "
                      f"how much the class depends on the property; {t['reverse_flip_share']:.0%} no longer "
                      f"predicted {md(cls)}")
        d.caption(f"{int(t['reverse_n'])} images · {t['reverse_flip_share']:.0%} leave {md(cls)}")
    else:
        d.metric(f"{md(cls)} images moved out", "–", help="No image of the class in the bin.")
    moved = intervention_report.moved_most(t.get("by_class"), cls)
    if moved:
        st.caption(md(moved))
    if not isinstance(t.get("scope"), str):
        one_class_test(cache, t, key=f"{key}.class")
    shown = before_after(cache, zip(t["examples"], t["example_before"], t["example_after"], t["example_jpeg"]))
    if shown:
        st.caption(md(f"{shown} of the {int(t['n'])} edited images (the first of a random sample, not the "
                      f"strongest): above as they are, below with only their {PROPERTIES[t['property']]} "
                      f"moved into the bin; P = probability of {cls}. Tested {SOURCES.get(t['source'], t['source'])} "
                      f"in {t['seconds']:.1f} s."))


def before_after(cache: Cache, examples) -> int:
    """Edited images of a test, two rows: as they are (their thumbnails) and as edited, with P(class) under each.
    ``examples``: (sample id, P before, P after, edited JPEG) tuples; ids no longer in the cache are left out.
    Returns how many were shown."""
    shown = [(cache.row_of.get(str(e[0])), e) for e in examples]
    shown = [(row, e) for row, e in shown if row is not None]
    if shown:
        st.image([str(cache.thumb_path(row)) for row, _ in shown], width=96,
                 caption=[f"before · P {e[1]:.0%}" for _, e in shown])
        st.image([e[3] for _, e in shown], width=96, caption=[f"after · P {e[2]:.0%}" for _, e in shown])
    return len(shown)


def one_class_test(cache: Cache, test: dict[str, Any], *, key: str) -> None:
    """The finding tested again on the images of the class the model finds nearest to the finding's, fresh ones:
    its result (and example images) when stored, else (when the first test is not confirmed) a button that asks
    for it (:func:`_run_asked_class_tests` runs it before the verdicts are read)."""
    cls, result = test["class"], intervention_report.class_test_of(test.get("class_test"))
    nearest = None
    if result is None and test.get("verdict") != "confirmed":
        nearest = loading.nearest_class(cache, cls, tuple(map(str, test.get("sample_ids", []))))
    marker = (cache.key, str(test["key"]), nearest)  # run by findings_view at the start of the next run
    if result is not None:
        st.markdown(f"{ICONS.get(result['verdict'], ICONS[None])} "
                    + md(intervention_report.class_test_sentence(result, cls)))
        shown = before_after(cache, intervention_report.class_test_examples(result))
        if shown:
            st.caption(md(f"{shown} of the {int(result['n'])} {result['class']} images of this test (the first of "
                          f"a random sample): above as they are, below with only their {PROPERTIES[test['property']]} "
                          f"moved into the bin; P = probability of {cls}."))
    elif nearest is not None:
        st.button(f"Test {md(nearest)} images alone", key=key, icon=":material/science:",
                  on_click=lambda: st.session_state.setdefault(_ASKED_CLASS, set()).add(marker),
                  help=f"{md(nearest)} is the class the model finds nearest to {md(cls)}: a shortcut tips such images "
                       f"first, and a test over every class dilutes it. Moves the property of up to 64 other "
                       f"{md(nearest)} images (none of this test's) into the bin and re-scores them. A few seconds.")


def remedy_box(cache: Cache, finding: dict[str, Any]) -> None:
    """How to break a confirmed shortcut: the augmentation, the data to collect and the command."""
    test = {k[5:]: v for k, v in finding.items() if k.startswith("test_")}
    meta = cache.meta
    fix = intervention_report.remedy(test, cache.samples, cache.classes, data_root=str(meta.get("data_root", "")),
                                     manifest="MANIFEST.csv" if meta.get("layout") == "manifest" else None,
                                     cache_path=str(cache.path), image_size=meta.get("image_size"))
    st.markdown(f"**Remedy** — augmentation: {md(fix['augmentation_text'])}; collect {md(fix['collect'])}.")
    st.code(fix["command"], language="bash", wrap_lines=True)
    st.caption("Then compare the two runs on the Compare page: it shows this test before and after, next to accuracy.")


def made_of(cache: Cache, finding: dict[str, Any], flags: np.ndarray, *, key: str) -> None:
    """The finding's own images (in the bin, labelled otherwise, predicted the class), with the label issues
    among them and a link to the Label issues page for each of their given labels."""
    rows = interventions.finding_rows(cache.samples, finding, cache.classes)
    if len(rows) == 0:
        return
    labels = cache.samples["label"].to_numpy()[rows]
    n_flagged = int(flags[rows].sum())
    st.caption(md(f"The finding is made of {len(rows)} images in the bin labelled otherwise and predicted "
                  f"{finding['class']}; {n_flagged} of them are flagged as label issues."))
    shown = rows[:12]
    st.image([str(cache.thumb_path(r)) for r in shown], width=80,
             caption=[f"{md(cache.classes[int(labels[i])])}{' ⚠' if flags[r] else ''}" for i, r in enumerate(shown)])
    given = pd.Series(labels[flags[rows]] if n_flagged else labels).value_counts().head(3)
    cols = st.columns(len(given))
    for col, (label, count) in zip(cols, given.items()):
        with col:
            name = cache.classes[int(label)]
            st.page_link(LABEL_ISSUES_PAGE, label=f"Label issues of {md(name)} ({int(count)} here)", icon=":material/rule:",
                         query_params={"class": name})
