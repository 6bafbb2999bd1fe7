"""Blockwise top-k cosine neighbours, the source of the interest–interest edges.

Algorithm
---------
Rows of ``x`` (and of the candidates ``y``, which default to ``x``) are
L2-normalised in float32, so a dot product is a cosine. ``x`` is then walked in
blocks of ``block_size`` rows; for each block:

1. one matrix product scores the block against every candidate
   (``block_size x m``, in ``candidate_dtype``), into a buffer allocated once;
2. pairs that may not be neighbours are set to ``-inf`` there: the row itself
   when ``y`` is ``None``, and candidates that are zero vectors;
3. the best ``k + margin`` candidates of each row are selected; for wide
   blocks in two stages (maxima of 16-column groups, then ``torch.topk`` over
   the best groups' members), which reads the block once at memory speed and
   gives the same candidates as one ``torch.topk`` over the row;
4. those candidates are re-scored exactly in float32, one dot product per
   (row, candidate) pair computed the same way whatever the block, and the best
   ``k`` are kept, sorted by score descending with ties broken by the lower
   index. ``threshold`` is applied to these exact scores.

Unused slots are padded with index ``-1`` and score ``-inf``; zero rows of ``x``
get no neighbours. Step 4 runs in exact mode too, so the scores returned do not
depend on the block size or on the dtype the candidates were found in: they are
the float32 cosine of the pair.

Why bfloat16 candidates re-ranked in float32
--------------------------------------------
The block product is almost all of the work (``n * m * d`` multiply-adds;
50,000 x 50,000 x 384 is 1.9 TFLOP). On a CPU with bf16 dot-product
instructions (AVX-512 BF16 / AMX) oneDNN runs it in bfloat16 about twice as
fast as float32 sgemm, and the score block is half the bytes for ``topk`` to
read. bfloat16 keeps 8 bits of mantissa, so a cosine near 0.7 is off by up to
about 0.004 and the bf16 ranking is only approximate. It is used solely to
*choose candidates*: with ``margin`` spare candidates per row, a true top-k
neighbour is lost only if at least ``margin + 1`` others overtake it through
rounding, i.e. when the k-th and (k + margin)-th true scores lie within the
rounding error. The final scores and order come from the float32 re-rank, so
the result equals the exact float32 result up to such near-ties (the benchmark
``benchmarks/knn.py`` measures how often neighbour lists differ, and by how
much). ``candidate_dtype=None`` gives the exact float32 search throughout.

Memory
------
Beyond the inputs, their normalised float32 copies (and the ``candidate_dtype``
copy of ``y``) and the ``(n, k)`` outputs, one block holds its
``block_size x m`` score buffer and ``block_size x (k + margin)`` top-k and
re-rank tensors; the re-rank gathers candidate vectors a few rows at a time
(about 2 MiB on CPU, 64 MiB on a GPU). That is ``O(block_size * m + n * k)``, never ``n x m``. The
default ``block_size`` keeps a block under about 256 MiB.

Everything runs on the device of ``x`` (CUDA tensors stay on CUDA).
"""

from __future__ import annotations

import math

import torch

from interestgraph.progress import progress

__all__ = ["cosine_topk", "topk_to_edges"]

#: Memory one block may use (score buffer plus its top-k and re-rank tensors), in bytes.
BLOCK_BYTES = 256 * 1024 * 1024


def _check_matrix(name: str, value: object) -> torch.Tensor:
    if not isinstance(value, torch.Tensor):
        raise ValueError(f"{name} must be a torch.Tensor, got {type(value).__name__}")
    if value.dim() != 2:
        raise ValueError(f"{name} must be 2-D (rows x dims), got shape {tuple(value.shape)}")
    if not value.is_floating_point():
        raise ValueError(f"{name} must be a floating-point tensor, got dtype {value.dtype}")
    return value


def _normalise(name: str, matrix: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Rows scaled to unit length in float32, and which rows were non-zero."""
    matrix = matrix.to(torch.float32)
    norms = torch.linalg.vector_norm(matrix, dim=1)
    if not bool(torch.isfinite(norms).all()):  # a NaN or inf anywhere in a row shows in its norm
        raise ValueError(f"{name} contains NaN or infinite values (or rows too large to normalise in float32)")
    nonzero = norms > 0
    scale = torch.where(nonzero, norms, torch.ones_like(norms)).reciprocal_()
    scale = torch.where(nonzero, scale, torch.zeros_like(scale))
    return (matrix * scale.unsqueeze(1)).contiguous(), nonzero


#: Bytes of candidate vectors gathered at once by the float32 re-score on CPU
#: (cache-sized; 32 times this on other devices).
RESCORE_BYTES = 2 * 1024 * 1024


def _rescore(block: torch.Tensor, y: torch.Tensor, cand_index: torch.Tensor) -> torch.Tensor:
    """Exact float32 cosine of each row of ``block`` with its candidate rows of ``y``.

    ``block`` is (b, d) and ``cand_index`` (b, c). Candidate vectors are gathered a
    few rows at a time (``RESCORE_BYTES``), so they stay in cache and memory stays
    small; each pair is an elementwise product reduced over ``d``, computed the
    same way whatever the block, so results do not depend on how ``x`` was split.
    """
    b, c = cand_index.shape
    d = block.shape[1]
    out = torch.empty((b, c), dtype=torch.float32, device=block.device)
    budget = RESCORE_BYTES if block.device.type == "cpu" else 32 * RESCORE_BYTES
    step = max(1, budget // max(1, c * d * 4))
    for start in range(0, b, step):
        stop = min(start + step, b)
        vectors = y.index_select(0, cand_index[start:stop].reshape(-1)).view(stop - start, c, d)
        torch.sum(vectors.mul_(block[start:stop].unsqueeze(1)), dim=2, out=out[start:stop])
    return out.clamp_(-1.0, 1.0)


#: Columns per group in :func:`_block_topk`'s two-stage selection.
GROUP = 16


def _block_topk(scores: torch.Tensor, count: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The ``count`` largest entries of each row of ``scores`` (unsorted), as ``torch.topk``.

    For wide rows, a two-stage selection that reads the block once at memory
    speed instead of running a selection over every entry: columns are put in
    ``GROUP``-sized strided groups (group ``j`` holds columns ``j, j + G, j + 2G, ...``,
    so the group maximum is an elementwise maximum of contiguous slices), the
    ``count`` groups with the largest maxima are kept, and the top ``count`` of
    their members (plus the few columns left over after the last full group)
    are selected. Every one of a row's top ``count`` entries lies in those
    groups: a group outside them has ``count`` groups above it, each holding an
    entry at least as large as any of its own. Ties are broken arbitrarily, as
    by ``torch.topk``.
    """
    rows, width = scores.shape
    groups = width // GROUP
    if groups < 4 * count:
        return scores.topk(count, dim=1, sorted=False)
    main = groups * GROUP
    group_max = scores[:, :groups].clone()
    for t in range(1, GROUP):
        torch.maximum(group_max, scores[:, t * groups : (t + 1) * groups], out=group_max)
    _, group_id = group_max.topk(count, dim=1, sorted=False)
    offsets = torch.arange(GROUP, device=scores.device, dtype=torch.int64) * groups
    columns = (group_id.unsqueeze(2) + offsets).reshape(rows, count * GROUP)
    if main < width:
        tail = torch.arange(main, width, device=scores.device, dtype=torch.int64)
        columns = torch.cat([columns, tail.expand(rows, -1)], dim=1)
    values, position = scores.gather(1, columns).topk(count, dim=1, sorted=False)
    return values, columns.gather(1, position)


def cosine_topk(
    x: torch.Tensor,
    k: int,
    *,
    y: torch.Tensor | None = None,
    threshold: float | None = None,
    block_size: int | None = None,
    candidate_dtype: torch.dtype | None = torch.bfloat16,
    margin: int | None = None,
    show_progress: bool | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The ``k`` most cosine-similar rows of ``y`` (default: of ``x``) for every row of ``x``.

    Args:
        x: ``(n, d)`` float tensor; rows need not be normalised. Zero rows get
            no neighbours.
        k: neighbours per row, ``>= 1``.
        y: ``(m, d)`` candidate rows on the same device; ``None`` searches ``x``
            itself, and then a row never lists itself (an identical *other* row
            still counts). Zero rows of ``y`` are never neighbours.
        threshold: keep only neighbours whose cosine is ``>= threshold``
            (in ``[-1, 1]``).
        block_size: rows of ``x`` scored at once; ``None`` picks the largest
            block whose buffers stay under about 256 MiB.
        candidate_dtype: dtype of the block product used to pick the best
            ``k + margin`` candidates, which are then re-scored exactly in
            float32 (see the module docstring). ``None`` (or ``torch.float32``)
            searches exactly in float32.
        margin: extra candidates for the re-rank; default ``max(8, k)``. Used in
            exact mode too, so that ties at the k-th place go to the lower index.
        show_progress: ``None`` shows a bar (:func:`interestgraph.progress.progress`,
            which follows ``INTERESTGRAPH_PROGRESS``) when there are several
            blocks; ``True`` asks for one even for a single block; ``False`` never.

    Returns:
        ``(index, score)``: ``index`` ``(n, k)`` int64 with ``-1`` padding and
        ``score`` ``(n, k)`` float32 with ``-inf`` padding, on ``x``'s device.
        Each row is sorted by score descending, ties by lower index, padding
        last. Scores are the float32 cosines of the pairs, clamped to ``[-1, 1]``.

    No gradient flows through the result (it runs under ``torch.no_grad``); to
    train edge weights, re-score the returned pairs from the live embeddings.

    Raises:
        ValueError: naming the argument that is invalid.
    """
    with torch.no_grad():
        return _cosine_topk(x, k, y, threshold, block_size, candidate_dtype, margin, show_progress)


def _cosine_topk(x, k, y, threshold, block_size, candidate_dtype, margin, show_progress):
    x = _check_matrix("x", x)
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValueError(f"k must be an integer >= 1, got {k!r}")
    if y is not None:
        y = _check_matrix("y", y)
        if y.shape[1] != x.shape[1]:
            raise ValueError(f"y has {y.shape[1]} dims per row but x has {x.shape[1]}: the dims must match")
        if y.device != x.device:
            raise ValueError(f"y is on {y.device} but x is on {x.device}: they must be on the same device")
    if threshold is not None:
        if (
            isinstance(threshold, bool)
            or not isinstance(threshold, (int, float))
            or not -1.0 <= float(threshold) <= 1.0
        ):
            raise ValueError(f"threshold must be a number in [-1, 1] or None, got {threshold!r}")
        threshold = float(threshold)
    if block_size is not None and (isinstance(block_size, bool) or not isinstance(block_size, int) or block_size < 1):
        raise ValueError(f"block_size must be an integer >= 1 or None, got {block_size!r}")
    if margin is None:
        margin = max(8, k)
    elif isinstance(margin, bool) or not isinstance(margin, int) or margin < 0:
        raise ValueError(f"margin must be an integer >= 0 or None, got {margin!r}")
    if candidate_dtype is None:
        candidate_dtype = torch.float32
    if not isinstance(candidate_dtype, torch.dtype) or not candidate_dtype.is_floating_point:
        raise ValueError(f"candidate_dtype must be a floating-point torch.dtype or None, got {candidate_dtype!r}")

    device = x.device
    n, _d = x.shape
    index = torch.full((n, k), -1, dtype=torch.int64, device=device)
    score = torch.full((n, k), -math.inf, dtype=torch.float32, device=device)

    xn, x_nonzero = _normalise("x", x)
    if y is None:
        yn, y_nonzero, self_search = xn, x_nonzero, True
    else:
        yn, y_nonzero = _normalise("y", y)
        self_search = False
    m = yn.shape[0]
    n_candidates = min(k + margin, m)
    if n == 0 or n_candidates == 0 or not bool(x_nonzero.any()) or not bool(y_nonzero.any()):
        return index, score

    y_cand = yn if candidate_dtype == torch.float32 else yn.to(candidate_dtype)
    y_cand_t = y_cand.t()
    zero_columns = (~y_nonzero).nonzero().squeeze(1)
    if zero_columns.numel() == 0:
        zero_columns = None

    if block_size is None:
        item = torch.empty((), dtype=candidate_dtype).element_size()
        per_row = m * item + n_candidates * 64  # score row + top-k and re-rank tensors
        block_size = max(1, BLOCK_BYTES // per_row)
    block_size = min(block_size, n)
    buffer = torch.empty((block_size, m), dtype=candidate_dtype, device=device)

    starts = range(0, n, block_size)
    if show_progress or (show_progress is None and len(starts) > 1):
        starts = progress(starts, total=len(starts), desc="kNN", unit="block")

    for start in starts:
        stop = min(start + block_size, n)
        block = xn[start:stop]
        scores = buffer[: stop - start]
        torch.mm(block.to(candidate_dtype), y_cand_t, out=scores)
        if self_search:
            scores.diagonal(offset=start).fill_(-math.inf)
        if zero_columns is not None:
            scores.index_fill_(1, zero_columns, -math.inf)
        cand_score, cand_index = _block_topk(scores, n_candidates)
        valid = cand_score > -math.inf

        exact = _rescore(block, yn, cand_index)
        exact.masked_fill_(~valid, -math.inf)
        if threshold is not None:
            exact.masked_fill_(exact < threshold, -math.inf)

        # Ties by lower index: order by index first, then a stable sort by score.
        cand_index, order = cand_index.sort(dim=1)
        exact = exact.gather(1, order)
        exact, order = exact.sort(dim=1, descending=True, stable=True)
        cand_index = cand_index.gather(1, order)

        keep = min(k, n_candidates)
        top_score = exact[:, :keep]
        top_index = cand_index[:, :keep].masked_fill(top_score == -math.inf, -1)
        score[start:stop, :keep] = top_score
        index[start:stop, :keep] = top_index

    if not bool(x_nonzero.all()):
        zero_rows = ~x_nonzero
        index[zero_rows] = -1
        score[zero_rows] = -math.inf
    return index, score


def topk_to_edges(
    index: torch.Tensor,
    score: torch.Tensor,
    *,
    symmetric: bool = True,
    reduce: str = "max",
) -> tuple[torch.Tensor, torch.Tensor]:
    """Edges from a :func:`cosine_topk` result.

    Row ``i`` listing ``j`` with score ``s`` becomes the edge ``i -> j`` with
    weight ``s``. Padding (index ``-1`` or a non-finite score) and self loops
    (``j == i``, possible when ``y`` was passed as ``x`` itself) are dropped.

    Args:
        index: ``(n, k)`` integer neighbour indices.
        score: ``(n, k)`` float scores, same shape.
        symmetric: add the reverse of every edge and keep each ordered pair
            once, its weight combined over the times the pair was listed (once
            if one end listed the other, twice if both did). Only meaningful
            when rows and neighbours index the same nodes (``y=None``).
        reduce: how to combine those weights, ``"max"`` or ``"mean"``.

    Returns:
        ``(edge_index, weight)``: ``(2, E)`` int64 and ``(E,)`` float32 on
        ``index``'s device, sorted by source then target.
    """
    if not isinstance(index, torch.Tensor) or index.dim() != 2:
        raise ValueError(f"index must be a 2-D tensor, got {getattr(index, 'shape', type(index).__name__)}")
    if index.is_floating_point() or index.is_complex() or index.dtype == torch.bool:
        raise ValueError(f"index must be an integer tensor, got dtype {index.dtype}")
    if not isinstance(score, torch.Tensor) or score.shape != index.shape:
        got = getattr(score, "shape", type(score).__name__)
        raise ValueError(f"score must be a tensor of index's shape {tuple(index.shape)}, got {got}")
    if score.device != index.device:
        raise ValueError(f"score is on {score.device} but index is on {index.device}")
    if reduce not in ("max", "mean"):
        raise ValueError(f"reduce must be 'max' or 'mean', got {reduce!r}")

    device = index.device
    n, k = index.shape
    rows = torch.arange(n, device=device, dtype=torch.int64).unsqueeze(1).expand(n, k)
    cols = index.to(torch.int64)
    weight = score.to(torch.float32)
    keep = (cols >= 0) & torch.isfinite(weight) & (cols != rows)
    src, dst, weight = rows[keep], cols[keep], weight[keep]

    if symmetric:
        src, dst = torch.cat([src, dst]), torch.cat([dst, src])
        weight = torch.cat([weight, weight])
    if src.numel() == 0:
        return torch.empty((2, 0), dtype=torch.int64, device=device), torch.empty(0, dtype=torch.float32, device=device)

    size = int(torch.maximum(src.max(), dst.max())) + 1
    key = src * size + dst
    unique, inverse = torch.unique(key, sorted=True, return_inverse=True)
    if unique.numel() == key.numel():
        order = torch.argsort(key)
        combined = weight[order]
    else:
        combined = torch.zeros(unique.numel(), dtype=torch.float32, device=device)
        combined.scatter_reduce_(0, inverse, weight, reduce="amax" if reduce == "max" else "mean", include_self=False)
    edge_index = torch.stack([unique // size, unique % size])
    return edge_index, combined
