"""Intervention tests of shortcut findings: the sampling, the statistics and the verdict (pure numpy/pandas).

A finding of :func:`indoor.analysis.shortcuts.shortcut_findings` ("darkest 10 %: images labelled otherwise get
30x the usual probability of bar") is a correlation in out-of-sample probabilities. A label error, a content
correlation (bright images are mostly living rooms) and a real shortcut all produce one. The test asks the model:
take images that are labelled and correctly predicted as some other class, move ONLY that property into the bin
(the edit: :mod:`indoor.model.intervene`), and see whether the probability of the class rises.

- :func:`plan_test` picks the images (seeded; held-out splits first) and the targets: the bin's centre, a
  control move of the same size in the opposite direction, and for the class's own images in the bin the way
  out (to the data set's median), which says how much the class depends on the property;
- :func:`bootstrap_ci` and :func:`summarise` turn the probabilities before and after into effects with 95 %
  intervals; :func:`verdict` decides: ``confirmed`` (a shortcut), ``no_effect`` (a correlation or label errors,
  with the share of the finding's images that label-issue analysis flags) or ``inconclusive``;
- :func:`remedy` says how to break a confirmed shortcut: the augmentation, the data to collect, one command.

The forward passes live in :mod:`indoor.model.shortcut_test`; the results are the cache's ``shortcut_tests``
table (columns :data:`TEST_COLUMNS`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
import pandas as pd

from indoor.analysis.shortcuts import CIRCULAR, PROPERTIES, property_bins, property_values

LOG_SCALE = {"sharpness", "size", "aspect"}  # properties moved (and mirrored) on a log scale
HELD_OUT = ("test", "val")
TEST_COLUMNS = [
    "key", "property", "bin", "lo", "hi", "bin_label", "class", "rank", "target", "n", "n_heldout", "p_before",
    "p_after", "effect", "effect_lo", "effect_hi", "flip_share", "control_effect", "control_lo", "control_hi",
    "control_flip_share", "excess_lo", "excess_hi", "reverse_n", "reverse_effect", "reverse_lo", "reverse_hi",
    "reverse_flip_share", "n_finding", "label_issue_share", "verdict", "cause", "reason", "sample_ids",
    "examples", "example_before", "example_after", "example_jpeg", "seconds", "source", "by_class", "class_test",
]
# columns added after the first caches stored tests, with the value an older row gets: read, not discarded
OPTIONAL_TEST_COLUMNS: dict[str, Any] = {"by_class": "[]", "class_test": "{}"}
# the random augmentation that breaks a shortcut on each property (``python -m indoor build --augment``)
AUGMENTATIONS: dict[str, str] = {
    "brightness": "brightness jitter: light scaled by x0.2 .. x1.4 (log-uniform)",
    "contrast": "contrast jitter: x0.4 .. x1.6",
    "hue": "hue jitter: a random rotation of the colour circle",
    "saturation": "saturation jitter: x0.0 .. x1.6",
    "grayscale": "random grayscale (one view in three)",
    "blur": "random blur (Gaussian, 0 .. 3 px) or sharpening",
    "crop": "random resized crop (35 .. 100 % of the area, aspect 3/4 .. 4/3), for object scale",
}
# how the build uses the augmented views (indoor.model.probe.fit_linear_head): project the directions they move
# the embeddings along out of them (erase), train the head on them (views), or both; auto (the default) fits erase
# and views and keeps the one with the higher out-of-fold top-1 on the original training images
AUGMENT_MODES = ("auto", "erase", "views", "both")
HEAD_AUGMENT_MODES = AUGMENT_MODES[1:]  # what one head fit takes
ERASE_DIRECTIONS = 16  # directions projected out (--erase-directions)
AUGMENTATION_FOR: dict[str, str] = {
    "brightness": "brightness", "contrast": "contrast", "colourfulness": "saturation", "saturation": "saturation",
    "hue": "hue", "dominant_hue": "hue", "sharpness": "blur", "size": "crop", "aspect": "crop",
}
VERDICTS = {"confirmed": "Confirmed shortcut", "no_effect": "No causal effect", "inconclusive": "Inconclusive"}


def finding_key(prop: str, bin_index: int, cls: str) -> str:
    """The id of a (property bin, class) finding within one cache: bins depend only on the images' properties."""
    return f"{prop}|{int(bin_index)}|{cls}"


def empty_tests() -> pd.DataFrame:
    """A ``shortcut_tests`` table with no row (e.g. before any test ran)."""
    return pd.DataFrame({c: pd.Series(dtype=_dtype(c)) for c in TEST_COLUMNS})


def with_optional_columns(table: pd.DataFrame) -> pd.DataFrame | None:
    """``table`` with every column of :data:`TEST_COLUMNS`, the optional ones an older table lacks filled with
    their defaults; None when it lacks a required one (not a tests table)."""
    missing = [c for c in TEST_COLUMNS if c not in table.columns]
    if any(c not in OPTIONAL_TEST_COLUMNS for c in missing):
        return None
    if not missing:
        return table
    return table.assign(**{c: [OPTIONAL_TEST_COLUMNS[c]] * len(table) for c in missing})[TEST_COLUMNS]


def _dtype(column: str) -> str:
    if column in ("key", "property", "bin_label", "class", "verdict", "cause", "reason", "source", "by_class",
                  "class_test"):
        return "object"
    if column in ("sample_ids", "examples", "example_before", "example_after", "example_jpeg"):
        return "object"
    if column in ("bin", "rank", "n", "n_heldout", "reverse_n", "n_finding"):
        return "int64"
    return "float64"


# ================================================================================================ the plan


@dataclass
class TestPlan:
    """Rows (of the cache's samples) to edit and where to move each; see :func:`plan_test`."""

    key: str
    prop: str
    bin: int
    lo: float
    hi: float
    bin_label: str
    cls: str
    class_index: int
    target: float
    rows: np.ndarray  # images labelled and predicted another class, outside the bin
    control: np.ndarray  # per row: the same move in the opposite direction
    reverse_rows: np.ndarray  # images labelled the class, inside the bin
    reverse_target: float  # the data set's median
    finding_rows: np.ndarray  # the finding's own images: in the bin, labelled otherwise, predicted the class
    n_heldout: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


def plan_test(
    samples: pd.DataFrame,
    finding: dict[str, Any],
    classes: Sequence[str],
    *,
    n: int = 64,
    n_reverse: int = 32,
    seed: int = 0,
    n_bins: int = 10,
    sample_ids: Sequence[str] | None = None,
    from_class: str | None = None,
    exclude: Sequence[str] = (),
) -> TestPlan:
    """Which images to edit for ``finding`` (a row of the shortcut findings: ``property``, ``bin``, ``class``;
    optional ``lo``/``hi``/``target`` from another run of the same images) and where to move them.

    ``samples`` is a cache samples frame (``sample_id``, ``split``, ``label``, ``pred`` and the property columns);
    ``pred`` must come from out-of-sample probabilities. Picked (seeded, ``n`` at most): images labelled and
    predicted as the same class other than the finding's, outside the bin, held-out splits (val, test) first —
    the head that scores them never saw them — then train images. ``sample_ids`` replaces that choice (those
    still present and outside the bin; e.g. run A's sample to test run B on the same images). The target is the
    median of the bin's values; the control moves each image as far the other way (log scale for sharpness, size
    and aspect; the colour circle for hue), kept within the data set's 1st..99th percentile. The reverse sample:
    up to ``n_reverse`` images labelled the class inside the bin, moved to the data set's median. ``from_class``:
    pick only images labelled and predicted that class, none of ``exclude`` (sample ids; e.g. the first test's
    images, so that a class the first test points to is tested on fresh images), and no reverse sample."""
    prop, cls = str(finding["property"]), str(finding["class"])
    if prop not in PROPERTIES:
        raise ValueError(f"unknown property {prop!r}")
    if cls not in classes:
        raise ValueError(f"class {cls!r} is not among this cache's classes")
    c = list(classes).index(cls)
    values = property_values(samples)[prop]
    circular = prop in CIRCULAR
    index, bins = property_bins(values, n_bins=n_bins, circular=circular)
    if "lo" in finding and "hi" in finding and sample_ids is not None:
        inside = _in_range(values, float(finding["lo"]), float(finding["hi"]), circular)
        b = int(finding.get("bin", -1))
    else:
        b = int(finding["bin"])
        inside = index == b
    if not inside.any():
        raise ValueError(f"no image of this cache falls in the {prop} bin of the finding")
    if circular:
        lo, hi = float(finding.get("lo", bins["lo"].iat[b])), float(finding.get("hi", bins["hi"].iat[b]))
    else:
        lo, hi = float(values[inside].min()), float(values[inside].max())
    target = float(finding["target"]) if finding.get("target") is not None and sample_ids is not None \
        else bin_centre(values[inside], circular=circular)
    labels = samples["label"].to_numpy(np.int64)
    pred = samples["pred"].to_numpy(np.int64)
    split = samples["split"].astype(str).to_numpy()
    rng = np.random.default_rng(seed)
    if from_class is not None and from_class not in classes:
        raise ValueError(f"class {from_class!r} is not among this cache's classes")
    if from_class == cls:
        raise ValueError("the images to move must be of another class than the finding's")
    if sample_ids is not None:
        row_of = {s: i for i, s in enumerate(samples["sample_id"].astype(str))}
        rows = np.array([row_of[s] for s in sample_ids if s in row_of], dtype=np.int64)
        rows = rows[~inside[rows] & (labels[rows] != c)]
    else:
        eligible = (labels != c) & (pred == labels) & ~inside
        if from_class is not None:
            eligible &= (labels == list(classes).index(from_class)) & ~samples["sample_id"].astype(str).isin(
                set(map(str, exclude))).to_numpy()
        held = np.flatnonzero(eligible & np.isin(split, HELD_OUT))
        rest = np.flatnonzero(eligible & ~np.isin(split, HELD_OUT))
        rows = np.concatenate([rng.permutation(held), rng.permutation(rest)])[:n].astype(np.int64)
    reverse = np.flatnonzero(inside & (labels == c)) if from_class is None else np.zeros(0, dtype=np.int64)
    reverse = np.concatenate([rng.permutation(reverse[np.isin(split[reverse], HELD_OUT)]),
                              rng.permutation(reverse[~np.isin(split[reverse], HELD_OUT)])])[:n_reverse]
    finite = values[np.isfinite(values)]
    return TestPlan(
        key=finding_key(prop, b, cls), prop=prop, bin=b, lo=lo, hi=hi,
        bin_label=str(finding.get("bin_label", bins["bin_label"].iat[b] if 0 <= b < len(bins) else "")),
        cls=cls, class_index=c, target=target, rows=rows,
        control=_mirror(values[rows], target, prop, np.quantile(finite, [0.01, 0.99])),
        reverse_rows=reverse.astype(np.int64), reverse_target=bin_centre(finite, circular=circular),
        finding_rows=np.flatnonzero(inside & (labels != c) & (pred == c)),
        n_heldout=int(np.isin(split[rows], HELD_OUT).sum()),
    )


def finding_rows(samples: pd.DataFrame, finding: dict[str, Any], classes: Sequence[str], *, n_bins: int = 10) -> np.ndarray:
    """Rows of the finding's own images: in its bin, labelled another class and predicted its class (``pred``
    out-of-sample), the images a page shows beside a verdict of "no causal effect"."""
    cls = str(finding["class"])
    if cls not in classes:
        return np.zeros(0, dtype=np.int64)
    prop = str(finding["property"])
    index, _ = property_bins(property_values(samples)[prop], n_bins=n_bins, circular=prop in CIRCULAR)
    c = list(classes).index(cls)
    labels, pred = samples["label"].to_numpy(np.int64), samples["pred"].to_numpy(np.int64)
    return np.flatnonzero((index == int(finding["bin"])) & (labels != c) & (pred == c))


def _in_range(values: np.ndarray, lo: float, hi: float, circular: bool) -> np.ndarray:
    if circular and lo > hi:  # a hue bin that crosses 0°
        return (values >= lo) | (values <= hi)
    return (values >= lo) & (values <= hi)


def bin_centre(values: np.ndarray, *, circular: bool = False) -> float:
    """The centre of a bin's values: their median (on the colour circle for ``circular``, degrees)."""
    if not circular:
        return float(np.median(values))
    angles = np.radians(values)
    mean = np.arctan2(np.sin(angles).mean(), np.cos(angles).mean())
    offsets = (np.degrees(angles - mean) + 180.0) % 360.0 - 180.0
    return float((np.degrees(mean) + np.median(offsets)) % 360.0)


def _mirror(values: np.ndarray, target: float, prop: str, limits: np.ndarray) -> np.ndarray:
    """Per value: the move to ``target`` reflected (same size, opposite direction), within ``limits``; on the
    colour circle, the complementary hue of the target."""
    if prop in CIRCULAR:  # the complementary hue: reflecting the rotation is no move at all near 180°
        return np.full(len(values), (target + 180.0) % 360.0)
    if prop in LOG_SCALE:
        safe = np.maximum(values, 1e-9)
        mirrored = np.exp(2 * np.log(safe) - np.log(max(target, 1e-9)))
    else:
        mirrored = 2 * values - target
    return np.clip(mirrored, limits[0], limits[1])


# ================================================================================================ statistics


def bootstrap_ci(values: np.ndarray, *, n_boot: int = 2000, level: float = 0.95, seed: int = 0) -> tuple[float, float, float]:
    """(mean, low, high): the mean of ``values`` with a percentile bootstrap interval (``n_boot`` resamples,
    seeded). NaNs for an empty input; the interval collapses to the mean for one value."""
    values = np.asarray(values, dtype=np.float64)
    if len(values) == 0:
        return float("nan"), float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    means = values[rng.integers(0, len(values), size=(n_boot, len(values)))].mean(axis=1)
    tail = (1.0 - level) / 2.0
    return float(values.mean()), float(np.quantile(means, tail)), float(np.quantile(means, 1.0 - tail))


def summarise(before: np.ndarray, after: np.ndarray, control: np.ndarray, *, class_index: int,
              reverse_before: np.ndarray | None = None, reverse_after: np.ndarray | None = None,
              seed: int = 0) -> dict[str, float]:
    """Effects of one test from the model's probabilities (rows: images; columns: classes) of the unedited
    images (``before``), the edited ones (``after``) and the control edit; the same images in each, in order.
    ``effect`` = mean change of P(class) (interval ``effect_lo``..``effect_hi``), ``flip_share`` = share of images
    not predicted the class before and predicted it after; ``control_*`` likewise; ``excess_lo``..``excess_hi`` =
    the paired interval of (effect - control effect) per image. ``reverse_*``: the class's own images moved out of
    the bin (``reverse_flip_share``: share predicted the class before and not after)."""
    c = int(class_index)
    before, after, control = (np.asarray(a, dtype=np.float64).reshape(-1, np.shape(a)[-1]) for a in (before, after, control))
    delta, delta_control = after[:, c] - before[:, c], control[:, c] - before[:, c]
    was = before.argmax(axis=1) == c
    out: dict[str, float] = {"n": len(delta), "p_before": float(before[:, c].mean()) if len(delta) else np.nan,
                             "p_after": float(after[:, c].mean()) if len(delta) else np.nan}
    out["effect"], out["effect_lo"], out["effect_hi"] = bootstrap_ci(delta, seed=seed)
    out["control_effect"], out["control_lo"], out["control_hi"] = bootstrap_ci(delta_control, seed=seed + 1)
    _, out["excess_lo"], out["excess_hi"] = bootstrap_ci(delta - delta_control, seed=seed + 2)
    out["flip_share"] = float(np.mean(~was & (after.argmax(axis=1) == c))) if len(delta) else np.nan
    out["control_flip_share"] = float(np.mean(~was & (control.argmax(axis=1) == c))) if len(delta) else np.nan
    n_rev = 0 if reverse_before is None else len(reverse_before)
    out["reverse_n"] = n_rev
    if n_rev:
        rb = np.asarray(reverse_before, dtype=np.float64).reshape(n_rev, -1)
        ra = np.asarray(reverse_after, dtype=np.float64).reshape(n_rev, -1)
        out["reverse_effect"], out["reverse_lo"], out["reverse_hi"] = bootstrap_ci(ra[:, c] - rb[:, c], seed=seed + 3)
        out["reverse_flip_share"] = float(np.mean((rb.argmax(axis=1) == c) & (ra.argmax(axis=1) != c)))
    else:
        out.update(reverse_effect=np.nan, reverse_lo=np.nan, reverse_hi=np.nan, reverse_flip_share=np.nan)
    return out


def verdict(stats: dict[str, float], *, label_issue_share: float = float("nan"), min_images: int = 16,
            threshold: float = 0.05) -> tuple[str, str, str]:
    """(verdict, cause, reason) of one test (``stats`` from :func:`summarise`).

    ``confirmed`` when the low end of the effect's 95 % interval is above ``threshold`` (a mean rise of P(class)
    in probability units: 5 points by default; a smaller rise seldom changes a prediction) and the paired excess
    over the control is above 0 (the opposite move does less); ``no_effect`` when the effect's interval, or the
    excess's, stays below ``threshold`` (the move into the bin does little, or no more than moving the other
    way), with ``cause`` "label errors" when at least half of the finding's own images are flagged label issues
    (``label_issue_share``), else "correlation" (the bin and the class share content); also ``no_effect`` with
    "label errors" when the interval straddles ``threshold`` but its mean is below it and at least half of the
    finding's images are label issues (the finding is made of label errors; any effect of the property is too
    small to confirm); ``inconclusive`` with fewer than ``min_images`` images or an interval that straddles
    ``threshold``."""
    n = int(stats.get("n", 0))
    if n < min_images:
        return "inconclusive", "too few images", f"only {n} image(s) could be tested (at least {min_images} needed)"
    lo, hi = stats["effect_lo"], stats["effect_hi"]
    span = f"mean ΔP {stats['effect']:+.3f} (95 % interval {lo:+.3f} .. {hi:+.3f})"
    control = f"the opposite move: {stats['control_effect']:+.3f}"
    if lo > threshold and stats["excess_lo"] > 0:
        return "confirmed", "shortcut", f"{span} is above {threshold:.2f} and above the control ({control})"
    if hi < threshold:
        return "no_effect", _cause(label_issue_share), f"{span} stays below {threshold:.2f} ({control})"
    if stats["excess_hi"] < threshold:
        return "no_effect", _cause(label_issue_share), (
            f"{span}; beyond {control}, it rises by {stats['excess_lo']:+.3f} .. {stats['excess_hi']:+.3f}, "
            f"below {threshold:.2f}")
    share = label_issue_share
    if stats["effect"] < threshold and np.isfinite(share) and share >= 0.5:
        return "no_effect", "label errors", (
            f"{share:.0%} of the finding's images are label issues, and moving the property raises P by only "
            f"{span[7:]}: below {threshold:.2f} on average ({control})")
    return "inconclusive", "uncertain", f"{span} straddles {threshold:.2f} ({control}): test more images"


def _cause(share: float) -> str:
    return "label errors" if np.isfinite(share) and share >= 0.5 else "correlation"


# ================================================================================================ the table


def test_row(plan: TestPlan, stats: dict[str, float], *, label_issues: np.ndarray | None, rank: int = 0,
             sample_ids: Sequence[str] = (), examples: Sequence[str] = (), example_before: Sequence[float] = (),
             example_after: Sequence[float] = (), example_jpeg: Sequence[bytes] = (), seconds: float = 0.0,
             source: str = "build", min_images: int = 16, threshold: float = 0.05,
             by_class: str = "[]") -> dict[str, Any]:
    """One row of the ``shortcut_tests`` table (:data:`TEST_COLUMNS`). ``label_issues``: the cache's per-row
    label-issue flags (None: unknown); ``by_class``: :func:`effect_by_class`'s JSON."""
    share = float("nan")
    if label_issues is not None and len(plan.finding_rows):
        share = float(np.asarray(label_issues, dtype=bool)[plan.finding_rows].mean())
    code, cause, reason = verdict(stats, label_issue_share=share, min_images=min_images, threshold=threshold)
    row = {
        "key": plan.key, "property": plan.prop, "bin": plan.bin, "lo": plan.lo, "hi": plan.hi,
        "bin_label": plan.bin_label, "class": plan.cls, "rank": int(rank), "target": plan.target,
        "n_heldout": plan.n_heldout, "n_finding": len(plan.finding_rows), "label_issue_share": share,
        "verdict": code, "cause": cause, "reason": reason, "sample_ids": list(map(str, sample_ids)),
        "examples": list(map(str, examples)), "example_before": list(map(float, example_before)),
        "example_after": list(map(float, example_after)), "example_jpeg": list(example_jpeg),
        "seconds": float(seconds), "source": source, "by_class": str(by_class), "class_test": "{}",
    }
    row.update({k: stats[k] for k in TEST_COLUMNS if k in stats})
    row["n"], row["reverse_n"] = int(stats.get("n", 0)), int(stats.get("reverse_n", 0))
    return row


def tests_frame(rows: Sequence[dict[str, Any]]) -> pd.DataFrame:
    """Rows of :func:`test_row` as a ``shortcut_tests`` table."""
    if not rows:
        return empty_tests()
    return pd.DataFrame(list(rows))[TEST_COLUMNS].astype({c: _dtype(c) for c in TEST_COLUMNS})


def merge_tests(old: pd.DataFrame | None, new: pd.DataFrame) -> pd.DataFrame:
    """``old`` and ``new`` test tables in one, one row per key (``new`` wins)."""
    old = None if old is None or old.empty else with_optional_columns(old)
    if old is None:
        return new.reset_index(drop=True) if len(new) else empty_tests()
    kept = old[~old["key"].isin(set(new["key"]))][TEST_COLUMNS]
    return tests_frame([*kept.to_dict("records"), *new.to_dict("records")])
