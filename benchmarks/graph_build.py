"""Interest-graph build benchmark: time and peak memory, encoding separated from the rest.

Not a test: it measures. Each case runs in a fresh process (peak RSS is that case's).

    python benchmarks/graph_build.py                          # ml-latest-small (MiniLM) + synthetic 1M (lexical)
    python benchmarks/graph_build.py --sizes 1000000,10000000 --skip-movielens
    python benchmarks/graph_build.py --sizes "" --skip-movielens --text-rich   # the text-rich catalogue only

Synthetic cases use the LexicalEncoder (hashed character n-grams), so the
figures are the build *without* language-model encoding, which the issue's
targets are about (1M events <= 20 s, 10M <= 4 min under 8 GiB on 2 cores);
the "encode" column is then the lexical encoder's time. ml-latest-small uses
the real all-MiniLM-L6-v2 encoder, first with an empty embedding cache and
then again from the cache. Protocol rs-4, seed 2020, default GraphConfig.

``--text-rich`` adds a catalogue shaped like a review dataset (:func:`text_rich_log`):
every event a review with a long text (summary plus several sentences), a catalogue
of long descriptions ten times the reviewed items (1,547 items, 148 reviewed, 2,972
reviews by default), built with MiniLM from an empty cache and again from the cache
(every event trains, as ``interestgraph build`` does without ``--protocol``: reviewers with
one or two reviews are too few for rs-4);
the table then gives the texts and tokens (after truncation to ``max_length``) each
encoding step ran on, so its cost can be read per token.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "datasets" / "ml-latest-small"
sys.path.insert(0, str(ROOT))

from benchmarks._isolated import peak_rss_mib, run_isolated  # noqa: E402


def _sentences(rng, templates, count: int, fill) -> str:
    return " ".join(str(rng.choice(templates)).format(**fill()) for _ in range(count))


def text_rich_log(
    *,
    n_items: int = 1547,
    reviewed: int = 148,
    n_reviews: int = 2972,
    n_users: int = 2000,
    description_sentences: int = 10,
    review_sentences: int = 8,
    seed: int = 0,
):
    """A review-dataset-shaped log: ``n_reviews`` review events (rating and long text) on ``reviewed`` of
    ``n_items`` catalogue items, every item with a long description.

    The catalogue (titles, tags, categories, planted interests) comes from the synthetic generator; each
    description is ``1 + Poisson(description_sentences - 1)`` description sentences about the item's planted
    interests, each review ``1 + Poisson(review_sentences - 1)`` review sentences (review templates) about the
    reviewed item's interests. Reviewed items are drawn without replacement, reviews spread over them by a
    Zipf(1.5) weight, reviewers uniformly from ``n_users`` (most write one or two reviews, as on review sites).
    """
    import numpy as np
    import pandas as pd

    from interestgraph.data import InteractionLog, generate_synthetic
    from interestgraph.data.synthetic import taxonomy as tx

    if not 1 <= reviewed <= n_items or n_reviews < 1 or n_users < 1:
        raise ValueError(f"need 1 <= reviewed ({reviewed}) <= n_items ({n_items}) and n_reviews, n_users >= 1")
    rng = np.random.default_rng(seed)
    data = generate_synthetic(n_users=100, n_items=n_items, n_interactions=1000, seed=seed)
    items = data.log.items.copy()
    meta = data.truth.interests.set_index("interest")
    nouns = {domain.name: domain.item_noun for domain in tx.DOMAINS}
    interests_of = data.truth.item_interests.groupby("item_id")["interest"].apply(list).to_dict()

    def about(item):
        codes = interests_of[item]

        def fill() -> dict:
            a, b = rng.choice(codes), rng.choice(codes)
            return {
                "noun": nouns[meta.loc[a, "domain"]],
                "interest": a,
                "interest2": b,
                "keyword": rng.choice(meta.loc[a, "keywords"]),
                "keyword2": rng.choice(meta.loc[b, "keywords"]),
            }

        return fill

    items["description"] = [
        _sentences(rng, tx.DESCRIPTION_TEMPLATES, 1 + rng.poisson(description_sentences - 1), about(item))
        for item in items["item_id"]
    ]
    chosen = rng.choice(items["item_id"].to_numpy(), size=reviewed, replace=False)
    weight = 1.0 / np.arange(1, reviewed + 1) ** 1.5
    item_ids = rng.choice(chosen, size=n_reviews, p=weight / weight.sum())
    texts = [
        _sentences(rng, tx.REVIEW_TEMPLATES, 1 + rng.poisson(review_sentences - 1), about(item)) for item in item_ids
    ]
    interactions = pd.DataFrame(
        {
            "user_id": [f"r{u:05d}" for u in rng.integers(0, n_users, size=n_reviews)],
            "item_id": item_ids,
            "timestamp": 1_600_000_000 + rng.integers(0, 30_000_000, size=n_reviews),
            "event": "review",
            "value": rng.integers(1, 6, size=n_reviews).astype(float),
            "text": texts,
        }
    )
    return InteractionLog.from_frames(interactions, items, source="text-rich catalogue")


def _encoded(graph, encoder) -> dict:
    """``{step: (texts, tokens)}``: what each encoding step of ``graph``'s build ran on (tokens after truncation
    to the encoder's ``max_length``, special tokens included)."""
    from transformers import AutoTokenizer

    from interestgraph.graph.build import catalog_has_text

    log = graph.split.log
    texts = log.item_texts()
    train = graph.split.train
    reviews = train.loc[train["event"].isin(graph.config.interests.text_events) & train["text"].notna(), "text"]
    batches = {
        "item texts": [t for t, keep in zip(texts, catalog_has_text(texts, log.items["item_id"])) if keep],
        "interest labels": graph.interests["label"].tolist(),
        "reviews": sorted(set(reviews.astype(str))),
    }
    tokenizer = AutoTokenizer.from_pretrained(encoder.model_dir)
    max_length = encoder.config.max_length
    return {
        name: (len(batch), sum(map(len, tokenizer(batch, truncation=True, max_length=max_length)["input_ids"])))
        for name, batch in batches.items()
        if batch
    }


def _case(kind: str, size, cache_dir: str | None, queue) -> None:
    import torch

    torch.set_num_threads(os.cpu_count() or 1)
    from interestgraph.data import generate_synthetic, load_movielens
    from interestgraph.graph.build import build_interest_graph

    started = time.perf_counter()
    cache = "warm cache" if kind.endswith("-warm") else "empty cache"
    if kind == "synthetic":
        from interestgraph.encoder import LexicalEncoder

        log = generate_synthetic(
            n_users=max(1000, size // 50), n_items=max(2000, size // 100), n_interactions=size, seed=0
        ).log
        encoder = LexicalEncoder()
        name = f"synthetic {size:,} (lexical)"
    else:
        from interestgraph.encoder import EncoderConfig, TextEncoder

        if kind.startswith("text-rich"):
            n_items, reviewed, n_reviews = size
            log = text_rich_log(n_items=n_items, reviewed=reviewed, n_reviews=n_reviews)
            name = f"text-rich catalogue (MiniLM, {cache})"
        else:
            log = load_movielens(SHARED)
            name = f"ml-latest-small (MiniLM, {cache})"
        encoder = TextEncoder(EncoderConfig(cache_dir=cache_dir))
    load_seconds = time.perf_counter() - started
    # a review log's users mostly have one or two reviews, too few for rs-4: build as `interestgraph build` does
    protocol = None if kind.startswith("text-rich") else "rs-4"
    graph = build_interest_graph(log, protocol=protocol, encoder=encoder)
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        graph.save(Path(tmp) / "g")
        save_seconds = time.perf_counter() - t
    steps = graph.build_seconds
    queue.put(
        {
            "case": name,
            "events": len(log),
            "load": load_seconds,
            "encode": steps.get("encode", 0.0),
            "build without encoding": steps["total"] - steps.get("encode", 0.0),
            "save": save_seconds,
            "steps": steps,
            "counts": graph.counts(),
            "peak_rss_mib": peak_rss_mib(),
            "encoded": _encoded(graph, encoder) if kind != "synthetic" and cache == "empty cache" else None,
        }
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000000", help="comma-separated synthetic event counts")
    parser.add_argument("--skip-movielens", action="store_true")
    parser.add_argument("--text-rich", action="store_true", help="also the text-rich catalogue (MiniLM)")
    parser.add_argument(
        "--text-rich-size",
        default="1547,148,2972",
        help="the text-rich catalogue's items, reviewed items and reviews (default 1547,148,2972)",
    )
    args = parser.parse_args(argv)
    results = []
    if not args.skip_movielens:
        if SHARED.is_dir():
            with tempfile.TemporaryDirectory() as cache:
                results.append(run_isolated(_case, "movielens-cold", 0, cache))
                results.append(run_isolated(_case, "movielens-warm", 0, cache))
        else:
            print(f"skipping ml-latest-small: {SHARED} not present", file=sys.stderr)
    if args.text_rich:
        size = tuple(int(n) for n in args.text_rich_size.split(","))
        if len(size) != 3:
            parser.error(f"--text-rich-size takes three counts, got {args.text_rich_size!r}")
        with tempfile.TemporaryDirectory() as cache:
            results.append(run_isolated(_case, "text-rich-cold", size, cache))
            results.append(run_isolated(_case, "text-rich-warm", size, cache))
    results += [run_isolated(_case, "synthetic", int(s), None) for s in args.sizes.split(",") if s]
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores; default GraphConfig; protocol rs-4 (seed 2020), "
        "except the text-rich catalogue (every event trains)"
    )
    print(
        "| case | events | load | encode | build without encoding | save | peak RSS | nodes (user/item/interest) | "
        "edges |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---|---:|")
    for r in results:
        n = r["counts"]["nodes"]
        e = sum(r["counts"]["edges"].values())
        print(
            f"| {r['case']} | {r['events']:,} | {r['load']:.1f} s | {r['encode']:.1f} s | "
            f"{r['build without encoding']:.1f} s | {r['save']:.1f} s | {r['peak_rss_mib']:,.0f} MiB | "
            f"{n['user']:,}/{n['item']:,}/{n['interest']:,} | {e:,} |"
        )
    for r in results:
        print(f"{r['case']} steps: " + ", ".join(f"{k} {v:.2f} s" for k, v in r["steps"].items()))
    encoded = [r for r in results if r["encoded"]]
    if encoded:
        print("\n| case | encoded | texts | tokens | tokens / text |")
        print("|---|---|---:|---:|---:|")
        for r in encoded:
            for step, (texts, tokens) in r["encoded"].items():
                print(f"| {r['case']} | {step} | {texts:,} | {tokens:,} | {tokens / texts:.1f} |")


if __name__ == "__main__":
    main()
