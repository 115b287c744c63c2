"""Reading intervention tests against the findings: each finding's verdict (its own test, or a confirmed test of a
repeat that moves another property of the same images), the remedy of a confirmed shortcut, and run A's tests
beside the same tests on run B's model. Pure pandas; the tests themselves: :mod:`indoor.analysis.interventions`.
"""

from __future__ import annotations

import base64
import json
from typing import Any, Sequence

import numpy as np
import pandas as pd

from indoor.analysis.interventions import AUGMENTATION_FOR, AUGMENTATIONS, empty_tests, finding_key
from indoor.analysis.shortcuts import CIRCULAR, PROPERTIES, property_bins, property_values

# what a test of one class's images alone keeps (in its first test's row, column class_test, as JSON text)
CLASS_TEST_KEYS = ("class", "n", "n_heldout", "effect", "effect_lo", "effect_hi", "flip_share", "control_effect",
                   "control_lo", "control_hi", "verdict", "reason", "seconds", "sample_ids")
# properties moved by the same edit: testing one repeats the other
EDIT_FAMILY = {"brightness": "light", "contrast": "contrast", "saturation": "colour amount",
               "colourfulness": "colour amount", "hue": "hue", "dominant_hue": "hue", "sharpness": "sharpness",
               "size": "size", "aspect": "aspect"}


def effect_by_class(delta: np.ndarray, flipped: np.ndarray, classes_of_rows: Sequence[str]) -> str:
    """Which classes' images the edit moved most: per class of the edited images (their given labels,
    ``classes_of_rows``), the number of images, the mean change of P(class) (``delta``, per image) and how many
    flipped to the class (``flipped``, per image), largest mean first, as JSON text (the ``by_class`` column).
    A shortcut can act on the look-alike classes only (a teal bedroom turning into a hospital room), which the
    mean over every class dilutes."""
    delta = np.asarray(delta, dtype=np.float64)
    flipped = np.asarray(flipped, dtype=bool)
    names = np.asarray(list(map(str, classes_of_rows)), dtype=object)
    if not (len(delta) == len(flipped) == len(names)):
        raise ValueError(f"{len(delta)} changes, {len(flipped)} flips and {len(names)} classes: one per image needed")
    records = [{"class": str(name), "n": int(mask.sum()), "effect": round(float(delta[mask].mean()), 6),
                "flipped": int(flipped[mask].sum())}
               for name in dict.fromkeys(names) for mask in [names == name]]
    records.sort(key=lambda r: (-r["effect"], r["class"]))
    return json.dumps(records)


def by_class_records(text: Any) -> list[dict[str, Any]]:
    """The ``by_class`` column of one test, parsed (an older row, or unreadable text: an empty list)."""
    try:
        records = json.loads(text) if isinstance(text, str) else []
    except ValueError:
        return []
    return [r for r in records if isinstance(r, dict) and {"class", "n", "effect", "flipped"} <= set(r)]


def class_test_text(row: dict[str, Any], from_class: str) -> str:
    """A test of ``from_class``'s images alone (a :func:`test_row` of a plan with ``from_class``), as the JSON
    text kept in its first test's ``class_test`` column (:data:`CLASS_TEST_KEYS`, and its example images:
    ids, P before and after, the edited thumbnails as base64 JPEG)."""
    kept = {k: row[k] for k in CLASS_TEST_KEYS if k in row}
    kept["class"] = str(from_class)
    kept["sample_ids"] = list(map(str, kept.get("sample_ids", [])))
    kept["examples"] = list(map(str, row.get("examples", [])))
    kept["example_before"] = [float(v) for v in row.get("example_before", [])]
    kept["example_after"] = [float(v) for v in row.get("example_after", [])]
    kept["example_jpeg"] = [base64.b64encode(bytes(b)).decode("ascii") for b in row.get("example_jpeg", [])]
    return json.dumps({k: (float(v) if isinstance(v, (float, np.floating)) else int(v) if isinstance(v, np.integer)
                           else v) for k, v in kept.items()})


def class_test_examples(result: dict[str, Any]) -> list[tuple[str, float, float, bytes]]:
    """A class test's example images (:func:`class_test_of`): (sample id, P before, P after, edited JPEG); none for
    a test stored without them, or unreadable ones left out."""
    keys = ("examples", "example_before", "example_after", "example_jpeg")
    if not all(isinstance(result.get(k), list) for k in keys):
        return []
    out = []
    for sample_id, before, after, jpeg in zip(*(result[k] for k in keys)):
        try:
            out.append((str(sample_id), float(before), float(after), base64.b64decode(str(jpeg), validate=True)))
        except (ValueError, TypeError):
            continue
    return out


def class_test_of(text: Any) -> dict[str, Any] | None:
    """The ``class_test`` column of one test, parsed; None when there is none (or it is unreadable)."""
    try:
        record = json.loads(text) if isinstance(text, str) else None
    except ValueError:
        return None
    return record if isinstance(record, dict) and set(CLASS_TEST_KEYS) <= set(record) else None


def moved_most(by_class: Any, cls: str, *, top: int = 3, min_images: int = 2) -> str:
    """One sentence from a test's ``by_class`` column: the classes (given labels of the edited images, at least
    ``min_images`` of them) whose images the edit moved most towards ``cls``, and the one it moved least; "" when
    fewer than two classes qualify (an older test, or too few images per class)."""
    records = [r for r in by_class_records(by_class) if int(r["n"]) >= min_images]
    if len(records) < 2:
        return ""

    def part(record: dict[str, Any]) -> str:
        flipped = int(record["flipped"])
        return (f"{record['class']} {float(record['effect']):+.3f} ({int(record['n'])} images"
                + (f", {flipped} now {cls}" if flipped else "") + ")")

    shown = records[:top]
    least = "" if records[-1] in shown else f"; least: {part(records[-1])}"
    return ("By class of the edited images (mean ΔP): " + " · ".join(part(r) for r in shown) + least
            + ". Few images per class: a pointer to where the effect lies, not a test of it.")


def nearest_class(samples: pd.DataFrame, probs: np.ndarray, cls: str, classes: Sequence[str], *,
                  exclude: Sequence[str] = (), min_images: int = 16) -> str | None:
    """The class whose images the model already finds most like ``cls``: of the images a test could edit
    (labelled and predicted the same other class, none of ``exclude``), the class with the highest mean
    P(``cls``), among those with at least ``min_images`` such images; None when none has. A shortcut tips the
    images that are nearly ``cls`` already (a teal bedroom, not a teal kitchen), so this is the class to test
    alone when a test over every class is diluted. Chosen from the model's probabilities, not from a test's
    noisy per-class means. ``probs`` (N, C) must be out-of-sample, rows as ``samples``."""
    if cls not in classes:
        return None
    c = list(classes).index(cls)
    labels = samples["label"].to_numpy(np.int64)
    eligible = (labels == samples["pred"].to_numpy(np.int64)) & (labels != c) & ~samples["sample_id"].astype(
        str).isin(set(map(str, exclude))).to_numpy()
    counts = np.bincount(labels[eligible], minlength=len(classes))
    column = np.asarray(probs[:, c], dtype=np.float64)  # one column: a memory-mapped (N, C) stays on disk
    sums = np.bincount(labels[eligible], weights=column[eligible], minlength=len(classes))
    means = np.where(counts >= max(1, int(min_images)), sums / np.maximum(counts, 1), -np.inf)
    best = int(np.argmax(means))
    return str(classes[best]) if np.isfinite(means[best]) else None


def class_test_sentence(result: dict[str, Any], cls: str) -> str:
    """One line for a test of one class's images alone (:func:`class_test_of`)."""
    name, verdict = result["class"], result["verdict"]
    title = {"confirmed": f"confirmed for {name} images", "no_effect": f"no causal effect on {name} images",
             "inconclusive": "inconclusive"}.get(verdict, str(verdict))
    return (f"{name} images alone ({int(result['n'])} others, none of the first test's): {title}: mean ΔP "
            f"{float(result['effect']):+.3f} (95 % interval {float(result['effect_lo']):+.3f} .. "
            f"{float(result['effect_hi']):+.3f}), {float(result['flip_share']):.0%} flipped to {cls}; the opposite "
            f"move {float(result['control_effect']):+.3f}.")


def repeats_to_test(findings: pd.DataFrame, finding: dict[str, Any], *, limit: int = 2) -> pd.DataFrame:
    """Up to ``limit`` repeats of a ranked ``finding`` (the same images under another property, see
    ``redundant_with``), of its class, whose edit differs from its own, best score first: when a low-contrast
    bin is made of darkened images, moving contrast alone may do nothing while moving brightness does."""
    if int(finding.get("rank", 0) or 0) <= 0:
        return findings.iloc[0:0]
    same = findings[(findings["redundant_with"] == int(finding["rank"])) & (findings["class"] == finding["class"])]
    other_edit = same["property"].map(EDIT_FAMILY) != EDIT_FAMILY[str(finding["property"])]
    return same[other_edit].sort_values("score", ascending=False, kind="stable").drop_duplicates(
        "property").head(limit)


def with_tests(findings: pd.DataFrame, tests: pd.DataFrame, *, every: pd.DataFrame | None = None) -> pd.DataFrame:
    """``findings`` with the columns of the test that decides each (prefixed ``test_``; NaN / None when
    untested): its own test, unless that is not confirmed and a repeat's test is (then ``test_via`` names the
    repeat's property and ``own_verdict`` / ``own_effect`` keep the finding's own result). When neither is
    confirmed but the own test's second test, on one class's fresh images alone (``class_test``), is, the
    finding is a confirmed shortcut on that class's images: ``test_verdict`` "confirmed" and ``test_scope`` the
    class (None otherwise); ``own_verdict`` keeps the first test's. ``every``: the whole findings table, where
    the repeats are (default ``findings``)."""
    every = findings if every is None else every
    keys = [finding_key(p, b, c) for p, b, c in zip(findings["property"], findings["bin"], findings["class"])]
    table = tests.drop_duplicates("key", keep="last").set_index("key") if len(tests) else empty_tests().set_index("key")
    chosen, via, own_verdict, own_effect = [], [], [], []
    for key, finding in zip(keys, findings.to_dict("records")):
        own = table.loc[key] if key in table.index else None
        pick, through = key, None
        if own is None or own["verdict"] != "confirmed":
            for rep in repeats_to_test(every, finding, limit=len(EDIT_FAMILY)).to_dict("records"):
                rep_key = finding_key(rep["property"], rep["bin"], rep["class"])
                if rep_key in table.index and table.at[rep_key, "verdict"] == "confirmed":
                    pick, through = rep_key, rep["property"]
                    break
        chosen.append(pick)
        via.append(through)
        own_verdict.append(None if own is None else own["verdict"])
        own_effect.append(np.nan if own is None else float(own["effect"]))
    joined = table.reindex(chosen)
    joined.insert(0, "key", [k if k in table.index else None for k in chosen])  # the deciding test's own key
    joined.columns = [f"test_{c}" for c in joined.columns]
    out = pd.concat([findings.reset_index(drop=True), joined.reset_index(drop=True)], axis=1)
    out["test_via"], out["own_verdict"], out["own_effect"] = via, own_verdict, own_effect
    scope = [None] * len(out)  # a finding confirmed on one class's images alone: that class
    if "test_class_test" in out:
        for i, (verdict, text) in enumerate(zip(out["test_verdict"], out["test_class_test"])):
            result = class_test_of(text)
            if verdict != "confirmed" and result is not None and result["verdict"] == "confirmed":
                scope[i] = str(result["class"])
                out.loc[i, ["test_verdict", "test_cause"]] = ["confirmed", "shortcut"]
    out["test_scope"] = scope
    return out


def remedy(test: dict[str, Any], samples: pd.DataFrame, classes: Sequence[str], *, data_root: str = "",
           manifest: str | None = None, cache_path: str = "CACHE", image_size: int | None = None,
           n_bins: int = 10) -> dict[str, Any]:
    """How to break a confirmed shortcut (``test``: a ``shortcut_tests`` row): ``augmentation`` (a name for
    ``--augment``), ``collect`` (the data to collect, with the count in train today: of the class it acts on when
    ``test["scope"]`` names one) and ``command`` (one line that rebuilds with the augmentation)."""
    prop, cls = str(test["property"]), str(test["class"])
    kind = AUGMENTATION_FOR.get(prop, "crop")
    values = property_values(samples)[prop]
    index, _ = property_bins(values, n_bins=n_bins, circular=prop in CIRCULAR)
    labels = samples["label"].to_numpy(np.int64)
    train = samples["split"].astype(str).to_numpy() == "train"
    c = list(classes).index(cls) if cls in classes else -1
    inside = index == int(test["bin"])
    scope = test.get("scope") if isinstance(test.get("scope"), str) and test.get("scope") in classes else None
    others = labels != c if scope is None else labels == list(classes).index(scope)
    n_other = int((inside & train & others).sum())
    n_class = int((inside & train & (labels == c)).sum())
    where = f"{PROPERTIES[prop]} {test['bin_label']}".strip()
    parts = ["python -m indoor build", f"--data {data_root or 'DATA'}"]
    if manifest:
        parts.append(f"--manifest {manifest}")
    parts += [f"--out {cache_path}-augmented"] + ([f"--image-size {image_size}"] if image_size else [])
    parts += [f"--augment {kind}", "--augment-views 2"]
    return {
        "augmentation": kind, "augmentation_text": AUGMENTATIONS[kind],
        "collect": (f"{'images of classes other than ' + cls if scope is None else scope + ' images'} in the bin "
                    f"{where}: {n_other} in train today (against {n_class} of {cls}); and {cls} images outside it"),
        "command": " ".join(parts),
    }


def compare_tests(tests_a: pd.DataFrame, tests_b: pd.DataFrame) -> pd.DataFrame:
    """Run A's tests beside the same tests on run B's model (same key): per finding the effect, its interval and
    the verdict in each, and ``remaining`` = B's effect / A's (e.g. 0.4: an augmentation removed 60 %); where A's
    test has a second test on one class's images (``second_class``), its effect, interval and verdict in each
    (``second_effect_a`` …; B's: the same images replayed, NaN when not run)."""
    cols = ["key", "property", "bin_label", "class", "effect", "effect_lo", "effect_hi", "flip_share", "verdict"]
    merged = tests_a[cols].merge(tests_b[cols[:1] + cols[4:]], on="key", how="left", suffixes=("_a", "_b"))
    merged["remaining"] = merged["effect_b"] / merged["effect_a"].where(merged["effect_a"].abs() > 1e-9)
    # the second test, on one class's images alone, where A has one (B's: the same images replayed)
    second = {"a": _class_tests(tests_a), "b": _class_tests(tests_b)}
    merged["second_class"] = [second["a"].get(k, {}).get("class") for k in merged["key"]]
    for run, found in second.items():
        for field in ("effect", "effect_lo", "effect_hi", "verdict"):
            merged[f"second_{field}_{run}"] = [found.get(k, {}).get(field, np.nan) for k in merged["key"]]
    return merged


def _class_tests(tests: pd.DataFrame) -> dict[str, dict[str, Any]]:
    if "class_test" not in tests:
        return {}
    parsed = {str(k): class_test_of(t) for k, t in zip(tests["key"], tests["class_test"])}
    return {k: v for k, v in parsed.items() if v is not None}
