"""The VQA benchmarks' own scores, as VLMEvalKit reports them (pure functions).

Each function takes, per question, whether the VLM was right, and the
question's category; sources in open-compass/VLMEvalKit:

- MME (``vlmeval/dataset/utils/yorn.py``, ``MME_rating``): per category,
  acc = share of questions right, acc+ = share of images whose questions
  are all right (MME asks two per image), score = (acc + acc+) × 100; the
  perception score sums the 10 perception categories, the reasoning score
  the 4 reasoning ones (each category 0–200).
- MMBench, SEEDBench and other multiple-choice sets
  (``vlmeval/dataset/utils/multiple_choice.py``, ``report_acc``): the
  overall accuracy and one per ``category`` and ``l2-category``.
  MMBench's circular evaluation (``mcq_circular_eval``) counts a question
  right only when all its copies with shifted options (indices
  ``i + k·10⁶``) are right.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

import numpy as np

MME_PERCEPTION = ("OCR", "artwork", "celebrity", "color", "count", "existence", "landmark", "position", "posters", "scene")
MME_REASONING = ("code_reasoning", "commonsense_reasoning", "numerical_calculation", "text_translation")
CIRCULAR_STEP = 1_000_000


def mme_scores(items: Iterable[tuple[str, str, bool]]) -> dict:
    """``items``: (category, image key, correct) per question.

    Returns ``perception`` and ``reasoning`` (sums over the categories of
    each group that are present), ``total`` and ``categories`` (acc + acc+,
    × 100, per category).
    """
    stats: dict[str, dict[str, list[bool]]] = defaultdict(lambda: defaultdict(list))
    for category, image, correct in items:
        stats[category][image].append(bool(correct))
    categories = {}
    for category, images in sorted(stats.items()):
        acc = np.mean([c for answers in images.values() for c in answers])
        acc_plus = np.mean([all(answers) for answers in images.values()])
        categories[category] = float(100.0 * (acc + acc_plus))
    perception = sum(v for k, v in categories.items() if k in MME_PERCEPTION)
    reasoning = sum(v for k, v in categories.items() if k in MME_REASONING)
    return {"perception": perception, "reasoning": reasoning, "total": perception + reasoning, "categories": categories}


def circular_groups(items: Iterable[tuple[str, str | None, str | None, bool]]) -> list[tuple[str, str | None, str | None, bool]]:
    """MMBench's circular rule: questions ``i + k·10⁶`` are one; it is right when all its copies are.

    ``items``: (index, category, l2-category, correct); returns one item per
    group, keyed by the main index, with the main question's categories.
    """
    groups: dict[int, list] = defaultdict(list)
    for index, category, l2, correct in items:
        groups[int(index) % CIRCULAR_STEP].append((int(index), category, l2, bool(correct)))
    out = []
    for main, copies in sorted(groups.items()):
        first = min(copies)
        out.append((str(main), first[1], first[2], all(c[3] for c in copies)))
    return out


def accuracy(items: Iterable[tuple[str, str | None, str | None, bool]]) -> dict:
    """Overall accuracy and one per category and l2-category, in percent.

    ``items``: (index, category, l2-category, correct) per question.
    """
    items = list(items)
    result = {"overall": float(100.0 * np.mean([c for *_, c in items])) if items else None, "questions": len(items)}
    for position, key in ((1, "category"), (2, "l2-category")):
        by: dict[str, list[bool]] = defaultdict(list)
        for item in items:
            if item[position] is not None:
                by[item[position]].append(item[3])
        if by:
            result[key] = {name: float(100.0 * np.mean(values)) for name, values in sorted(by.items())}
    return result


def has_circular_copies(indices: Iterable[str]) -> bool:
    """True when some index is a circular copy (≥ 10⁶) of one that is present (MMBench's TSVs)."""
    numbers = set()
    for index in indices:
        try:
            numbers.add(int(index))
        except ValueError:
            return False
    return any(n >= CIRCULAR_STEP and n % CIRCULAR_STEP in numbers for n in numbers)


METRIC_LABELS = {
    "mme": "MME score (perception + reasoning)",
    "mcq": "accuracy (%)",
    "mcq-circular": "circular accuracy (%)",
    "yesno": "accuracy (%)",
}


def point_scores(dataset, records: list[dict]) -> dict | None:
    """The dataset's own scores for each curve point (variant, codec, quality), or None.

    None when the dataset has no such metric (a JSONL manifest, mixed kinds)
    or the evaluator's scores are not right/wrong (1 or 0). ``score`` of a
    point is the headline figure the BD-rate compares at: the MME total, or
    the (circular, for MMBench) overall accuracy.
    """
    kind = dataset.benchmark
    if kind is None or not records or any(r["score"] not in (0.0, 1.0) for r in records):
        return None
    rows = {row.id: row for row in dataset.rows}
    circular = kind == "mcq" and has_circular_copies(rows)
    groups: dict[str, dict[str, list[dict]]] = defaultdict(lambda: defaultdict(list))
    for record in records:
        groups[f"{record['variant']}|{record['codec']}"][f"{float(record['quality']):g}"].append(record)
    points: dict[str, dict[str, dict]] = {}
    for curve, by_quality in groups.items():
        points[curve] = {}
        for quality, items in by_quality.items():
            extras = [(rows[r["row"]].extra, r["score"] == 1.0) for r in items]
            if kind == "mme":
                scores = mme_scores((e.get("category") or "", e.get("image_key") or e["index"], ok) for e, ok in extras)
                scores["score"] = scores["total"]
            else:
                questions = [(e["index"], e.get("category"), e.get("l2-category"), ok) for e, ok in extras]
                scores = accuracy(questions)
                if circular:
                    scores["circular"] = accuracy(circular_groups(questions))
                scores["score"] = scores["circular"]["overall"] if circular else scores["overall"]
            points[curve][quality] = scores
    label = "mcq-circular" if circular else kind
    return {"kind": label, "metric": METRIC_LABELS[label], "points": points}
