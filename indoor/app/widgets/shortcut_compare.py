"""The Compare page's shortcut section: run A's intervention tests on run B's model (same images, same bins),
each effect before and after beside the test accuracy of both runs (e.g. after a rebuild with ``--augment``)."""

from __future__ import annotations

import streamlit as st

from indoor.analysis import intervention_report, interventions
from indoor.analysis.compare import Comparison
from indoor.analysis.shortcuts import PROPERTIES
from indoor.app import loading
from indoor.app.text import md, percent
from indoor.cache import Cache

_ASKED = "indoor.cmp.tests"  # session state: (key A, key B) pairs whose tests the user asked to run


def shortcut_change(run_a: Cache, run_b: Cache, result: Comparison, *, key: str) -> None:
    """A's tested findings with their effect in A and, once asked (a button: B's model runs), in B."""
    st.subheader("Shortcut tests · before and after")
    tests_a = loading.shortcut_tests(run_a)
    if tests_a.empty:
        st.caption("Run A has no shortcut test: test its findings on the Shortcuts page first.")
        return
    if run_a.path.resolve() == run_b.path.resolve():
        st.caption("Run A and run B are the same cache: choose another run B to see its effects.")
        return
    pair = (run_a.key, run_b.key)
    asked: set = st.session_state.setdefault(_ASKED, set())
    accuracy = result.accuracy.set_index("split")
    split = "test" if "test" in accuracy.index else "all"
    st.caption(md(f"Top-1 ({split}): A {percent(accuracy.at[split, 'top1_a'])} → B "
                  f"{percent(accuracy.at[split, 'top1_b'])}. Each test moves only one property of the same images "
                  "into the same bin and measures the mean change of the class's probability (95 % interval)."))
    if pair not in asked:
        st.button(f"Run A's {len(tests_a)} test(s) on run B", key=f"{key}.go", icon=":material/science:",
                  on_click=asked.add, args=(pair,),
                  help="Loads run B's model and re-scores the edited images (seconds per finding).")
        tests_b = tests_a.iloc[0:0]
    else:
        with st.spinner("Running A's shortcut tests on run B's model…"):
            tests_b = loading.replay_shortcut_tests(run_a, run_b)
    table = intervention_report.compare_tests(tests_a, tests_b)
    for rec in table.to_dict("records"):
        with st.container(border=True):
            _compared_test(rec)


def _compared_test(rec: dict) -> None:
    """One of A's tests beside the same test on B, and its second test (one class's images alone) when it has one."""
    name = f"{md(PROPERTIES[rec['property']])} {md(rec['bin_label'])} → {md(rec['class'])}"
    a, b, c = st.columns([3, 2, 2])
    a.markdown(f"**{name}**  \nA: {md(interventions.VERDICTS[rec['verdict_a']])}")
    b.metric(f"ΔP A ({rec['effect_lo_a']:+.3f} .. {rec['effect_hi_a']:+.3f})", f"{rec['effect_a']:+.3f}")
    if rec["effect_b"] == rec["effect_b"]:  # not NaN: tested on B
        share = "" if rec["remaining"] != rec["remaining"] else f" · {rec['remaining']:.0%} of A's effect left"
        c.metric(f"ΔP B ({rec['effect_lo_b']:+.3f} .. {rec['effect_hi_b']:+.3f})", f"{rec['effect_b']:+.3f}",
                 delta=f"{rec['effect_b'] - rec['effect_a']:+.3f}", delta_color="inverse",
                 help=f"B: {md(interventions.VERDICTS[rec['verdict_b']])}{share}")
    else:
        c.metric("ΔP B", "–", help="Not run on B yet (the button above), or B lacks these images.")
    if not isinstance(rec.get("second_class"), str):
        return
    a, b, c = st.columns([3, 2, 2])  # the second test, on one class's images alone
    verdict = {run: interventions.VERDICTS.get(rec[f"second_verdict_{run}"], "?").lower() for run in ("a", "b")}
    a.markdown(md(f"↳ second test, {rec['second_class']} images alone — A: {verdict['a']}"))
    b.markdown(f"ΔP A **{rec['second_effect_a']:+.3f}** ({rec['second_effect_lo_a']:+.3f} .. "
               f"{rec['second_effect_hi_a']:+.3f})")
    if rec["second_effect_b"] == rec["second_effect_b"]:
        c.markdown(f"ΔP B **{rec['second_effect_b']:+.3f}** ({rec['second_effect_lo_b']:+.3f} .. "
                   f"{rec['second_effect_hi_b']:+.3f}) · {verdict['b']}")
