"""Shortcut tests on a built cache: every top-N finding with its verdict, the on-demand cost, the build-time cost
and, with --after, the remedy (run A's tests on run B's model, beside both runs' test accuracy).

    python bench/bench_shortcuts.py --cache runs/demo                       # top-10 table (tests what is untested)
    python bench/bench_shortcuts.py --cache runs/demo --after runs/demo-aug  # + the effects after --augment
    python bench/bench_shortcuts.py --cache /tmp/p40-dark-cache --planted bar:brightness

Untested findings are tested here with the cache's model (the same code the dashboard runs on demand) and, unless
--no-save, stored in the cache. Times are wall-clock on this machine; note the load average printed first.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from indoor.analysis import intervention_report, interventions  # noqa: E402
from indoor.analysis.shortcuts import PROPERTIES  # noqa: E402
from indoor.cache import load_cache  # noqa: E402
from indoor.cache import shortcut_tests as stored  # noqa: E402


def _name(row) -> str:
    return f"{PROPERTIES[row['property']]} {row['bin_label']} -> {row['class']}"


def top_table(cache, top: int, *, save: bool) -> tuple[pd.DataFrame, dict]:
    """The top findings joined with their tests (untested ones tested now); costs measured."""
    findings = cache.table("shortcut_findings")
    ranked = findings[findings["rank"] > 0].sort_values("rank").head(top)
    tests = stored.stored_tests(cache)
    keys = [interventions.finding_key(p, b, c) for p, b, c in zip(ranked["property"], ranked["bin"], ranked["class"])]
    missing = ranked[[k not in set(tests["key"]) for k in keys]]  # tested here like the page does (with repeats)
    costs: dict = {"load_model_s": None, "on_demand_s": []}
    if len(missing):
        started = time.perf_counter()
        scorer = stored.cache_scorer(cache)
        costs["load_model_s"] = time.perf_counter() - started
        for finding in missing.to_dict("records"):
            started = time.perf_counter()
            fresh = stored.test_findings(cache, pd.DataFrame([finding]), scorer=scorer, save=save, source="on demand",
                                         every=findings)
            costs["on_demand_s"].append(time.perf_counter() - started)
            tests = interventions.merge_tests(tests, fresh)
    return intervention_report.with_tests(ranked, tests, every=findings), costs


def print_table(joined: pd.DataFrame) -> None:
    print(f"{'#':>2}  {'finding':58s} {'verdict':40s} {'dP [95% CI]':>24s} {'flips':>6s} {'control':>8s} "
          f"{'out of bin':>10s} {'lbl-iss':>7s} {'s':>5s}")
    for row in joined.to_dict("records"):
        verdict = row["test_verdict"]
        label = "untested" if not isinstance(verdict, str) else interventions.VERDICTS[verdict] + (
            "" if verdict == "confirmed" else f" ({row['test_cause']})")
        if isinstance(row.get("test_via"), str):
            label += f" via {row['test_via']}"
        if isinstance(row.get("test_scope"), str):
            label += f" on {row['test_scope']}"
        effect = (f"{row['test_effect']:+.3f} [{row['test_effect_lo']:+.3f},{row['test_effect_hi']:+.3f}]"
                  if isinstance(verdict, str) else "")
        print(f"{int(row['rank']):>2}  {_name(row)[:58]:58s} {label[:40]:40s} {effect:>24s} "
              f"{row['test_flip_share']:>6.0%} {row['test_control_effect']:>+8.3f} {row['test_reverse_effect']:>+10.3f} "
              f"{row['test_label_issue_share']:>7.0%} {row['test_seconds']:>5.1f}")
        second = intervention_report.class_test_of(row.get("test_class_test"))
        if second is not None:
            print(f"{'':4}second test, {second['class']} images alone ({int(second['n'])}): {second['verdict']} "
                  f"{second['effect']:+.3f} [{second['effect_lo']:+.3f},{second['effect_hi']:+.3f}], flipped "
                  f"{second['flip_share']:.0%}, control {second['control_effect']:+.3f}, {second['seconds']:.1f} s")


def second_tests(cache, joined: pd.DataFrame, *, save: bool) -> pd.DataFrame:
    """What the page's "Test CLASS images alone" button does, for every tested, unconfirmed finding that has no
    second test yet: the nearest class's fresh images (with enough of them for a decided test)."""
    tests = stored.stored_tests(cache)
    scorer = None
    for row in joined.to_dict("records"):
        key = row.get("test_key")
        if not isinstance(key, str) or row["test_verdict"] == "confirmed" or \
                intervention_report.class_test_of(row.get("test_class_test")) is not None:
            continue
        test = tests.set_index("key").loc[key].to_dict() | {"key": key}
        nearest = intervention_report.nearest_class(cache.samples, cache.probs, test["class"], cache.classes,
                                                    exclude=list(test["sample_ids"]))
        if nearest is None:
            continue
        scorer = scorer or stored.cache_scorer(cache)
        done = stored.test_one_class(cache, test, nearest, scorer=scorer, save=save)
        tests = interventions.merge_tests(tests, interventions.tests_frame([done]))
    findings = cache.table("shortcut_findings")
    return intervention_report.with_tests(joined[list(findings.columns)], tests, every=findings)

def remedy(cache_a, cache_b) -> pd.DataFrame:
    """A's tests replayed on B's model (same images and bins), with B/A."""
    tests = stored.stored_tests(cache_a)
    started = time.perf_counter()
    replayed = stored.test_findings(cache_b, tests, sample_ids={k: list(v) for k, v in zip(tests["key"], tests["sample_ids"])},
                                    save=False, source="compare")
    print(f"replayed {len(tests)} test(s) on {cache_b.path} in {time.perf_counter() - started:.1f} s (model load included)")
    return intervention_report.compare_tests(tests, replayed)


def renderer_counterfactual(cache, per_class: int) -> dict[str, float]:
    """The demo's ground truth: each other class rendered with the planted property on and off (same seeds, the
    demo's renderer), scored by the cache's model; mean change of P(target) per planted shortcut."""
    from indoor.data.synthetic.render import render_scene

    scorer = stored.cache_scorer(cache)
    out = {}
    for flag, target in (("dark", "bar"), ("teal", "hospitalroom")):
        if target not in cache.classes:
            continue
        t = cache.classes.index(target)
        on, off = [], []
        for cls in (c for c in cache.classes if c != target):
            for s in range(per_class):
                off.append(render_scene(cls, np.random.default_rng(1000 + s), **{flag: False}))
                on.append(render_scene(cls, np.random.default_rng(1000 + s), **{flag: True}))
        p_on, p_off = scorer.probs(on), scorer.probs(off)
        delta = p_on[:, t] - p_off[:, t]
        mean, lo, hi = interventions.bootstrap_ci(delta)
        flips = float(np.mean((p_on.argmax(1) == t) & (p_off.argmax(1) != t)))
        print(f"renderer counterfactual, {flag} on vs off ({len(delta)} scenes of the other classes): mean dP({target}) "
              f"{mean:+.3f} [{lo:+.3f},{hi:+.3f}], flipped to {target}: {flips:.0%}")
        names = [c for c in cache.classes if c != target]
        by_class = sorted(((float(delta[i * per_class:(i + 1) * per_class].mean()), c) for i, c in enumerate(names)),
                          reverse=True)
        print("    by class, most moved: " + ", ".join(f"{c} {d:+.3f}" for d, c in by_class[:3]))
        out[flag] = mean
        out[f"{flag}_by_class"] = {c: d for d, c in by_class}
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cache", type=Path, required=True)
    parser.add_argument("--top", type=int, default=10)
    parser.add_argument("--after", type=Path, default=None, help="a rebuild (e.g. with --augment) to replay the tests on")
    parser.add_argument("--planted", default=None, help="CLASS:PROPERTY of a planted shortcut, e.g. bar:brightness")
    parser.add_argument("--counterfactual", type=int, default=0, metavar="K",
                        help="demo caches: also render K scenes per other class with the planted dark / teal on and "
                             "off and score them (the ground truth the tests should agree with)")
    parser.add_argument("--second-tests", action="store_true",
                        help="test every unconfirmed finding again on the nearest class's images alone, as the "
                             "page's button does (the build does it for the best-ranked one)")
    parser.add_argument("--no-save", action="store_true", help="do not store tests run here in the cache")
    parser.add_argument("--json", type=Path, default=None, help="write the numbers here")
    args = parser.parse_args()
    print(f"load average: {' '.join(f'{v:.1f}' for v in os.getloadavg())}")
    cache = load_cache(args.cache)
    timings = cache.meta.get("timings", {})
    if "shortcut_tests" in timings:
        total = timings.get("total_before_write") or sum(v for k, v in timings.items() if k != "total_before_write")
        print(f"build: tests of the top {cache.meta.get('shortcut_tests', {}).get('top')} findings took "
              f"{timings['shortcut_tests']:.1f} s of {total:.1f} s ({timings['shortcut_tests'] / total:.0%})")
    joined, costs = top_table(cache, args.top, save=not args.no_save)
    if args.second_tests:
        joined = second_tests(cache, joined, save=not args.no_save)
    print_table(joined)
    if costs["on_demand_s"]:
        print(f"on demand: model load {costs['load_model_s']:.1f} s once, then per finding "
              f"{np.median(costs['on_demand_s']):.1f} s median ({', '.join(f'{s:.1f}' for s in costs['on_demand_s'])})")
    out: dict = {"cache": str(args.cache), "rows": joined.drop(columns=[c for c in joined.columns if c.startswith(
        ("test_example", "test_sample", "test_examples"))]).to_dict("records"), "costs": costs}
    if args.planted:
        cls, prop = args.planted.split(":")
        ranked = joined.reset_index(drop=True)
        via = ranked["test_via"] if "test_via" in ranked else pd.Series([None] * len(ranked))
        hits = ranked[(ranked["class"] == cls) & ((ranked["property"] == prop) | (via == prop))]
        if hits.empty:
            print(f"planted {prop} -> {cls}: not among the top {args.top} findings (a miss)")
        else:
            first = hits.iloc[0]
            through = f" (through {prop})" if first["property"] != prop else ""
            print(f"planted {prop} -> {cls}: finding #{int(first['rank'])} {_name(first)}, verdict "
                  f"{first['test_verdict']}{through}")
    if args.counterfactual:
        out["counterfactual"] = renderer_counterfactual(cache, args.counterfactual)
    if args.after:
        after = load_cache(args.after)
        table = remedy(cache, after)
        metrics_a, metrics_b = cache.meta["metrics"].get("test", {}), after.meta["metrics"].get("test", {})
        print(f"test top-1: A {metrics_a.get('top1', float('nan')):.1%} -> B {metrics_b.get('top1', float('nan')):.1%} "
              f"(B: augment {after.meta.get('augment')})")
        for rec in table.to_dict("records"):
            print(f"  {_name(rec)[:58]:58s} A {rec['effect_a']:+.3f} [{rec['effect_lo_a']:+.3f},{rec['effect_hi_a']:+.3f}] "
                  f"{rec['verdict_a']:12s} B {rec['effect_b']:+.3f} [{rec['effect_lo_b']:+.3f},{rec['effect_hi_b']:+.3f}] "
                  f"{rec['verdict_b']:12s} B/A {rec['remaining']:.2f}")
            if isinstance(rec.get("second_class"), str):
                print(f"    on {rec['second_class']} images alone: A {rec['second_effect_a']:+.3f} "
                      f"[{rec['second_effect_lo_a']:+.3f},{rec['second_effect_hi_a']:+.3f}] {rec['second_verdict_a']:12s} "
                      f"B {rec['second_effect_b']:+.3f} [{rec['second_effect_lo_b']:+.3f},{rec['second_effect_hi_b']:+.3f}] "
                      f"{rec['second_verdict_b']}")
        out["remedy"] = table.to_dict("records")
        out["top1"] = {"a": metrics_a.get("top1"), "b": metrics_b.get("top1")}
    if args.json:
        args.json.write_text(json.dumps(out, indent=1, default=lambda v: v.tolist() if hasattr(v, "tolist") else str(v)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
