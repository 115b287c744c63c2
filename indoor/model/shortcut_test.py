"""Run intervention tests of shortcut findings: edit images (:mod:`indoor.model.intervene`), embed them with the
cache's backbone (the optimised CPU copy, or the GPU when present) and score them with its linear head.

The plan and the statistics are :mod:`indoor.analysis.interventions`; this module only does the forward passes.
Importing it imports torch: the app imports it at call time, never when a page starts.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import torch
from PIL import Image
from torch import nn

from indoor.analysis import intervention_report, interventions
from indoor.cache.properties import ANALYSIS_SIDE, make_thumbnail, shrink
from indoor.data.images import load_rgb
from indoor.model.backbones import fast_inference, preprocess_image
from indoor.model.intervene import move_property

BATCH = 64
EDIT_THREADS = max(1, min(4, os.cpu_count() or 1))
REPEAT_BUDGET = 1  # at build time (and in analyze): extra tests of repeats, for the best-ranked unconfirmed finding
CLASS_BUDGET = 1  # at build time (and in analyze): a second test on the nearest class's images, for the best-ranked unconfirmed finding


@dataclass
class Scorer:
    """Images -> class probabilities with a frozen embedder and a linear head (the cache's model).

    On the CPU the embedder runs as an optimised TorchScript copy (:func:`indoor.model.backbones.fast_inference`,
    traced on the first batch, ~3 s once) unless ``forward`` is given (e.g. the build's own copy)."""

    embedder: nn.Module
    head: nn.Module
    preprocessing: dict  # preprocess_image's keywords (size, mean, std, interpolation, crop_pct): the cache's
    device: str = "cpu"
    forward: Callable[[torch.Tensor], torch.Tensor] | None = None

    def probs(self, images: Sequence[Image.Image]) -> np.ndarray:
        """(len(images), C) softmax probabilities, preprocessed as the build does (shorter side, centre crop)."""
        out = []
        with torch.inference_mode():
            for start in range(0, len(images), BATCH):
                batch = torch.stack([preprocess_image(im, **self.preprocessing)
                                     for im in images[start:start + BATCH]]).to(self.device)
                if self.forward is None:
                    self.embedder.to(self.device).eval()
                    self.forward = fast_inference(self.embedder, batch) if self.device == "cpu" else self.embedder
                embeddings = self.forward(batch).float()
                out.append(self.head.to(self.device)(embeddings).softmax(dim=1).double().cpu().numpy())
        return np.concatenate(out) if out else np.zeros((0, 0))

    def embedding_probs(self, embeddings: np.ndarray) -> np.ndarray:
        """Probabilities of stored embeddings (the unedited images, as the build embedded them): no forward pass."""
        with torch.inference_mode():
            inputs = torch.from_numpy(np.ascontiguousarray(embeddings, dtype=np.float32)).to(self.device)
            return self.head.to(self.device)(inputs).softmax(dim=1).double().cpu().numpy()


def working_image(path: str, *, side: int, original_size: tuple[int, int] | None = None) -> Image.Image:
    """The copy of an image the build embeds and measures (shorter side max(side, ANALYSIS_SIDE); ``side``: the
    model's resize before its centre crop), with ``info["original_size"]`` (``original_size`` when given: a
    thumbnail standing in for its original)."""
    image = load_rgb(path, draft_size=max(side, ANALYSIS_SIDE))
    size = original_size or image.info.get("original_size", image.size)
    image = shrink(image, max(side, ANALYSIS_SIDE))
    image.info["original_size"] = tuple(int(v) for v in size)
    return image


def run_test(
    plan: interventions.TestPlan,
    scorer: Scorer,
    load_image: Callable[[int], Image.Image],
    sample_ids: Sequence[str],
    *,
    label_issues: np.ndarray | None = None,
    embeddings: np.ndarray | None = None,
    rank: int = 0,
    seed: int = 0,
    source: str = "build",
    n_examples: int = 6,
    thumb_size: int = 128,
    row_classes: Sequence[str] | None = None,
) -> dict[str, Any]:
    """One test (a ``shortcut_tests`` row): load the plan's images, edit them (to the bin, the control move,
    the class's own images out of the bin), score the edits in one batched pass, and summarise. The unedited
    images are scored from ``embeddings`` (the cache's, rows as in ``sample_ids``) when given: the model's view of
    them without a forward pass. Images that cannot be loaded are left out (and so counted out of ``n``).
    ``row_classes``: every cache row's given label, to say which classes' images moved most (``by_class``)."""
    started = time.perf_counter()

    def edit(job: tuple[int, tuple[float, ...]]):
        row, targets = job
        image = _load(load_image, row)
        return None if image is None else (row, image, [move_property(image, plan.prop, t) for t in targets])

    jobs = [(int(r), (plan.target, float(t))) for r, t in zip(plan.rows, plan.control)]
    jobs += [(int(r), (plan.reverse_target,)) for r in plan.reverse_rows]
    with ThreadPoolExecutor(max_workers=EDIT_THREADS) as pool:  # PIL and numpy release the GIL: both cores work
        done = [d for d in pool.map(edit, jobs) if d is not None]
    main, back = [d for d in done if len(d[2]) == 2], [d for d in done if len(d[2]) == 1]
    rows, originals = [d[0] for d in main], [d[1] for d in main]
    moved, mirrored = [d[2][0] for d in main], [d[2][1] for d in main]
    reverse, reverse_before, reverse_after = [d[0] for d in back], [d[1] for d in back], [d[2][0] for d in back]
    k, m = len(rows), len(reverse)
    if embeddings is not None and k + m:
        unedited = scorer.embedding_probs(np.asarray(embeddings[np.asarray(rows + reverse, dtype=np.int64)]))
        edited = scorer.probs([*moved, *mirrored, *reverse_after])
        probs = np.concatenate([unedited[:k], edited[:2 * k], unedited[k:], edited[2 * k:]])
    else:
        probs = scorer.probs([*originals, *moved, *mirrored, *reverse_before, *reverse_after])
    if not probs.size:  # no image could be loaded: an empty test (inconclusive: too few images)
        probs = np.zeros((0, plan.class_index + 1))
    before, after, ctrl = probs[:k], probs[k:2 * k], probs[2 * k:3 * k]
    stats = interventions.summarise(before, after, ctrl, class_index=plan.class_index,
                                    reverse_before=probs[3 * k:3 * k + m], reverse_after=probs[3 * k + m:], seed=seed)
    c = plan.class_index
    by_class = "[]"
    if row_classes is not None and k:
        by_class = intervention_report.effect_by_class(
            after[:, c] - before[:, c], (before.argmax(axis=1) != c) & (after.argmax(axis=1) == c),
            [row_classes[r] for r in rows])
    shown = list(range(min(n_examples, k)))  # the sample's first images: random, not the strongest
    return interventions.test_row(
        plan, stats, label_issues=label_issues, rank=rank, sample_ids=[sample_ids[r] for r in rows],
        examples=[sample_ids[rows[i]] for i in shown], example_before=[float(before[i, c]) for i in shown],
        example_after=[float(after[i, c]) for i in shown],
        example_jpeg=[make_thumbnail(moved[i], size=thumb_size) for i in shown],
        seconds=time.perf_counter() - started, source=source, by_class=by_class,
    )


def run_class_test(
    test: dict[str, Any],
    from_class: str,
    samples: pd.DataFrame,
    classes: Sequence[str],
    scorer: Scorer,
    load_image: Callable[[int], Image.Image],
    *,
    label_issues: np.ndarray | None = None,
    embeddings: np.ndarray | None = None,
    n: int = 64,
    seed: int = 0,
    source: str = "on demand",
    thumb_size: int = 128,
    sample_ids: Sequence[str] | None = None,
) -> dict[str, Any]:
    """``test`` (a ``shortcut_tests`` row) with its finding tested again on ``from_class``'s images alone, in
    ``class_test`` (:func:`indoor.analysis.intervention_report.class_test_of`): up to ``n`` images labelled and
    predicted that class, none of the first test's (or exactly ``sample_ids``: another run's class test replayed),
    the same edit, control and verdict rule."""
    plan = interventions.plan_test(samples, test, classes, n=n, seed=seed, from_class=from_class,
                                   exclude=list(test.get("sample_ids", [])), sample_ids=sample_ids)
    row = run_test(plan, scorer, load_image, samples["sample_id"].astype(str).tolist(), label_issues=label_issues,
                   embeddings=embeddings, seed=seed, source=source, thumb_size=thumb_size)
    return {**test, "class_test": intervention_report.class_test_text(row, from_class)}


def _load(load_image: Callable[[int], Image.Image], row: int) -> Image.Image | None:
    try:
        return load_image(row)
    except (OSError, ValueError):
        return None


def run_tests(
    findings: pd.DataFrame,
    samples: pd.DataFrame,
    classes: Sequence[str],
    scorer: Scorer,
    load_image: Callable[[int], Image.Image],
    *,
    label_issues: np.ndarray | None = None,
    embeddings: np.ndarray | None = None,
    n: int = 64,
    seed: int = 0,
    source: str = "build",
    sample_ids: dict[str, Sequence[str]] | None = None,
    every: pd.DataFrame | None = None,
    repeat_budget: int | None = None,
    probs: np.ndarray | None = None,
    class_budget: int | None = None,
    thumb_size: int = 128,
    log: Callable[[str], None] | None = None,
) -> pd.DataFrame:
    """Test every finding in ``findings`` (rows of the shortcut findings table; or test rows of another run, whose
    ``lo``, ``hi`` and ``target`` then define the bin, with ``sample_ids[key]`` the images to edit). Returns a
    ``shortcut_tests`` table. ``samples`` is the cache's samples frame (out-of-sample ``pred``), ``embeddings``
    its (N, D) embeddings (then the unedited images need no forward pass). With ``every`` (the whole findings
    table), a finding whose own test is not confirmed has its repeats that move another property tested too
    (:func:`indoor.analysis.intervention_report.repeats_to_test`, at most two each), until one is confirmed;
    ``repeat_budget`` caps those extra tests over the whole call (None: no cap). With ``probs`` (the cache's
    out-of-sample probabilities), a finding still not confirmed is tested again on the images of the class the
    model finds nearest to the finding's (:func:`indoor.analysis.intervention_report.nearest_class`), fresh ones,
    stored in its row's ``class_test``; ``class_budget`` caps those (None: no cap). A replayed test (``sample_ids``)
    with a ``class_test`` replays that too, on its images."""
    from indoor.analysis.intervention_report import class_test_of, nearest_class, repeats_to_test

    ids = samples["sample_id"].astype(str).tolist()
    row_classes = [classes[int(label)] for label in samples["label"].to_numpy()]
    results: list[dict[str, Any]] = []
    budget = [repeat_budget]

    def test(finding: dict[str, Any]) -> dict[str, Any] | None:
        chosen = (sample_ids or {}).get(str(finding.get("key", "")))
        try:
            plan = interventions.plan_test(samples, finding, classes, n=n, seed=seed, sample_ids=chosen)
        except ValueError as exc:
            if log:
                log(f"shortcut test skipped ({finding.get('property')} → {finding.get('class')}): {exc}")
            return None
        row = run_test(plan, scorer, load_image, ids, label_issues=label_issues, embeddings=embeddings,
                       rank=int(finding.get("rank", 0) or 0), seed=seed, source=source, thumb_size=thumb_size,
                       row_classes=row_classes)
        if log:
            log(f"shortcut test {plan.prop} {plan.bin_label} → {plan.cls}: {row['verdict']} "
                f"(ΔP {row['effect']:+.3f}, {row['seconds']:.1f} s)")
        results.append(row)
        return row

    def second_test(row: dict[str, Any], from_class: str, chosen: Sequence[str] | None = None) -> None:
        try:
            done = run_class_test(row, from_class, samples, classes, scorer, load_image, label_issues=label_issues,
                                  embeddings=embeddings, n=n, seed=seed, source=source, thumb_size=thumb_size,
                                  sample_ids=chosen)
        except ValueError as exc:
            if log:
                log(f"second shortcut test skipped ({row['property']} → {row['class']}, {from_class}): {exc}")
            return
        row["class_test"] = done["class_test"]
        if log:
            result = class_test_of(row["class_test"])
            log(f"  on {from_class} images alone: {result['verdict']} (ΔP {result['effect']:+.3f}, "
                f"{result['seconds']:.1f} s)")

    classes_left = [class_budget]
    for finding in findings.to_dict("records"):
        row = test(finding)
        if row is None:
            continue
        replayed = class_test_of(finding.get("class_test")) if sample_ids is not None else None
        if replayed is not None:
            second_test(row, str(replayed["class"]), chosen=list(map(str, replayed["sample_ids"])))
        if row["verdict"] == "confirmed" or every is None and probs is None:
            continue
        confirmed = False
        for repeat in ([] if every is None else repeats_to_test(every, finding).to_dict("records")):
            if budget[0] is not None and budget[0] <= 0:
                break
            if budget[0] is not None:
                budget[0] -= 1
            extra = test(repeat)
            if extra is not None and extra["verdict"] == "confirmed":
                confirmed = True
                break
        if confirmed or probs is None or sample_ids is not None or classes_left[0] is not None and classes_left[0] <= 0:
            continue
        nearest = nearest_class(samples, probs, row["class"], classes, exclude=row["sample_ids"])
        if nearest is not None:
            if classes_left[0] is not None:
                classes_left[0] -= 1
            second_test(row, nearest)
    return interventions.tests_frame(results)


def top_findings(findings: pd.DataFrame, top: int) -> pd.DataFrame:
    """The ``top`` best-ranked findings (repeats of a better finding left out)."""
    ranked = findings[findings["rank"] > 0].sort_values("rank", kind="stable")
    return ranked.head(max(0, int(top)))


def build_time_tests(
    samples: pd.DataFrame,
    tables: dict[str, pd.DataFrame],
    classes: Sequence[str],
    scorer: Scorer,
    *,
    embeddings: np.ndarray | None = None,
    probs: np.ndarray | None = None,
    top: int = 3,
    n: int = 64,
    seed: int = 0,
    thumb_size: int = 128,
    log: Callable[[str], None] | None = None,
) -> pd.DataFrame:
    """The cache build's tests: the ``top`` best-ranked shortcut findings of ``tables`` (the build's analysis
    tables), one repeat (:data:`REPEAT_BUDGET`) of the best-ranked one not confirmed and, with ``probs`` (the
    build's out-of-sample probabilities), second tests on the nearest class's images (:data:`CLASS_BUDGET`), on the
    images at ``samples["path"]`` (the build's samples frame), scored by ``scorer``."""
    findings = tables.get("shortcut_findings")
    if findings is None or findings.empty or top <= 0:
        return interventions.empty_tests()
    side = max(int(scorer.preprocessing["size"]),
               int(int(scorer.preprocessing["size"]) / float(scorer.preprocessing.get("crop_pct", 1.0) or 1.0)))
    paths = samples["path"].astype(str).tolist()
    sizes = list(zip(samples["width"].astype(int), samples["height"].astype(int)))
    issues = tables.get("label_issues")
    flags = None
    if issues is not None and {"row", "is_issue"} <= set(issues.columns):
        flags = np.zeros(len(samples), dtype=bool)
        flags[issues["row"].to_numpy(np.int64)] = issues["is_issue"].to_numpy(bool)
    return run_tests(top_findings(findings, top), samples, classes, scorer,
                     lambda row: working_image(paths[row], side=side, original_size=sizes[row]),
                     label_issues=flags, embeddings=embeddings, n=n, seed=seed, source="build", every=findings,
                     repeat_budget=REPEAT_BUDGET, probs=probs, class_budget=CLASS_BUDGET, thumb_size=thumb_size,
                     log=log)
