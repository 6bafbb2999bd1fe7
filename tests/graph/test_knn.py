"""Blockwise top-k cosine neighbours against a brute-force reference, and kNN edges."""

from __future__ import annotations

import math

import pytest
import torch

from interestgraph.ops.knn import cosine_topk, topk_to_edges

NEG_INF = -math.inf


def reference(x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
    """Full float64 cosine matrix; self pairs at -inf when y is None."""
    xn = torch.nn.functional.normalize(x.double(), dim=1)
    yn = xn if y is None else torch.nn.functional.normalize(y.double(), dim=1)
    sim = xn @ yn.T
    if y is None:
        sim.fill_diagonal_(NEG_INF)
    return sim


def reference_topk(sim: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Sorted by score descending, ties by lower index (stable argsort)."""
    order = torch.argsort(-sim, dim=1, stable=True)[:, :k]
    return order, sim.gather(1, order)


@pytest.fixture(scope="module")
def data():
    gen = torch.Generator().manual_seed(0)
    return torch.randn(500, 32, generator=gen)


@pytest.fixture(scope="module")
def truth(data):
    return reference(data)


def test_exact_mode_equals_brute_force(data, truth):
    k = 10
    index, score = cosine_topk(data, k, candidate_dtype=None)
    ref_index, ref_score = reference_topk(truth, k)
    assert index.dtype == torch.int64 and score.dtype == torch.float32
    assert index.shape == score.shape == (500, k)
    assert torch.equal(index, ref_index)
    torch.testing.assert_close(score.double(), ref_score, atol=1e-6, rtol=0)


def test_bf16_candidates_match_brute_force_up_to_near_ties(data, truth):
    k, tol = 10, 1e-3
    index, score = cosine_topk(data, k)  # default: bf16 candidates, fp32 re-rank
    ref_index, ref_score = reference_topk(truth, k)
    # every returned score is the true cosine of that pair
    true_of_pair = truth.gather(1, index)
    torch.testing.assert_close(score.double(), true_of_pair, atol=1e-5, rtol=0)
    # the k-th score matches the reference k-th score
    assert float((score[:, -1].double() - ref_score[:, -1]).abs().max()) <= tol
    # sorted descending
    assert bool((score[:, :-1] >= score[:, 1:]).all())
    # neighbour sets identical except for pairs scoring within tol of the boundary
    kth = ref_score[:, -1]
    differing_rows = 0
    for row in range(len(data)):
        got, want = set(index[row].tolist()), set(ref_index[row].tolist())
        if got != want:
            differing_rows += 1
            for j in got ^ want:
                assert abs(float(truth[row, j]) - float(kth[row])) <= tol, (row, j)
    assert differing_rows <= 5


def test_threshold_drops_weaker_neighbours(data, truth):
    k, threshold = 10, 0.45
    index, score = cosine_topk(data, k, threshold=threshold, candidate_dtype=None)
    ref_index, ref_score = reference_topk(truth, k)
    strong = ref_score >= threshold
    assert torch.equal(index, torch.where(strong, ref_index, torch.full_like(ref_index, -1)))
    assert bool((score[~strong] == NEG_INF).all())
    assert bool((score[strong] >= threshold).all())
    # padding sits at the end of each row
    padded = index == -1
    assert bool((padded[:, :-1] <= padded[:, 1:]).all())
    assert 0 < int(padded.sum()) < padded.numel()
    # and the same with bf16 candidates, where scores are exact fp32 too
    index16, score16 = cosine_topk(data, k, threshold=threshold)
    assert bool(((score16 >= threshold) | (index16 == -1)).all())


def test_self_is_excluded_but_duplicates_are_kept():
    x = torch.tensor([[1.0, 0.0], [2.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    index, score = cosine_topk(x, 3)
    for row in range(4):
        assert row not in index[row].tolist()
    assert index[0, 0] == 1 and score[0, 0] == pytest.approx(1.0)
    assert index[1, 0] == 0 and score[1, 0] == pytest.approx(1.0)
    # row 3 is at 45 degrees to all three others: tie broken by the lower index
    assert index[3].tolist() == [0, 1, 2]
    torch.testing.assert_close(score[3], torch.full((3,), 1 / math.sqrt(2)))


def test_separate_candidates_are_asymmetric():
    gen = torch.Generator().manual_seed(1)
    x, y = torch.randn(40, 16, generator=gen), torch.randn(70, 16, generator=gen)
    k = 5
    sim = reference(x, y)
    for dtype in (None, torch.bfloat16):
        index, score = cosine_topk(x, k, y=y, candidate_dtype=dtype)
        ref_index, ref_score = reference_topk(sim, k)
        torch.testing.assert_close(score.double(), ref_score, atol=1e-5, rtol=0)
        assert torch.equal(index, ref_index)
    # x itself passed as y: a row may list itself (cosine 1)
    index, score = cosine_topk(x, 1, y=x)
    assert torch.equal(index[:, 0], torch.arange(40))
    torch.testing.assert_close(score[:, 0], torch.ones(40))


def test_zero_rows_get_and_give_no_neighbours():
    x = torch.tensor([[1.0, 0.0], [0.0, 0.0], [0.5, 0.5], [0.0, 2.0]])
    index, score = cosine_topk(x, 3)
    assert index[1].tolist() == [-1, -1, -1] and bool((score[1] == NEG_INF).all())
    for row in (0, 2, 3):
        assert 1 not in index[row].tolist()
        assert index[row, 2] == -1  # only two non-zero others
    y = torch.zeros(3, 2)
    index, score = cosine_topk(x, 2, y=y)
    assert bool((index == -1).all()) and bool((score == NEG_INF).all())


def test_k_larger_than_candidates_pads():
    gen = torch.Generator().manual_seed(2)
    x = torch.randn(6, 4, generator=gen)
    index, score = cosine_topk(x, 10)
    assert index.shape == (6, 10)
    assert bool((index[:, :5] >= 0).all()) and bool((index[:, 5:] == -1).all())
    assert bool((score[:, 5:] == NEG_INF).all()) and bool(torch.isfinite(score[:, :5]).all())
    ref_index, _ = reference_topk(reference(x), 5)
    assert torch.equal(index[:, :5], ref_index)
    # one point alone has no neighbours
    index, score = cosine_topk(x[:1], 3)
    assert index.tolist() == [[-1, -1, -1]]
    # y with fewer rows than k
    index, _ = cosine_topk(x, 4, y=x[:2])
    assert bool((index[:, 2:] == -1).all()) and bool((index[:, :2] >= 0).all())


def test_two_stage_selection_equals_topk():
    from interestgraph.ops.knn import _block_topk

    gen = torch.Generator().manual_seed(4)
    for width, dtype in ((3001, torch.float32), (4000, torch.bfloat16)):
        scores = torch.randn(50, width, generator=gen).to(dtype)
        scores[:, ::7] = NEG_INF  # masked entries
        scores[0, :] = NEG_INF  # a row with nothing valid
        values, columns = _block_topk(scores, 20)
        ref = scores.topk(20, dim=1).values
        assert torch.equal(values.sort(dim=1, descending=True).values, ref)
        assert torch.equal(scores.gather(1, columns), values)
        assert bool((columns.sort(dim=1).values.diff(dim=1) > 0).all())  # distinct columns
        # the best entry in the tail columns past the last full group is found
        scores[1, -1] = 100.0
        assert int(_block_topk(scores, 20)[1][1].tolist().count(width - 1)) == 1


@pytest.mark.parametrize("dtype", [None, torch.bfloat16])
def test_wide_candidate_sets_match_brute_force(dtype):
    gen = torch.Generator().manual_seed(5)
    x, y = torch.randn(60, 16, generator=gen), torch.randn(2003, 16, generator=gen)
    index, score = cosine_topk(x, 5, y=y, candidate_dtype=dtype, block_size=25)
    ref_index, ref_score = reference_topk(reference(x, y), 5)
    assert torch.equal(index, ref_index)
    torch.testing.assert_close(score.double(), ref_score, atol=1e-5, rtol=0)


@pytest.mark.parametrize("dtype", [None, torch.bfloat16])
def test_blocks_give_the_same_result_as_one_block(data, dtype):
    one_index, one_score = cosine_topk(data, 7, candidate_dtype=dtype, block_size=len(data))
    for block_size in (37, 128, 499):
        index, score = cosine_topk(data, 7, candidate_dtype=dtype, block_size=block_size, show_progress=False)
        assert torch.equal(index, one_index), block_size
        assert torch.equal(score, one_score), block_size
    # one row at a time (on a slice: 500 tiny blocks are slow for no extra insight)
    few = data[:40]
    one = cosine_topk(few, 7, candidate_dtype=dtype)
    rows = cosine_topk(few, 7, candidate_dtype=dtype, block_size=1)
    assert torch.equal(one[0], rows[0]) and torch.equal(one[1], rows[1])


def test_deterministic(data):
    first = cosine_topk(data, 8, block_size=64)
    second = cosine_topk(data, 8, block_size=64)
    assert torch.equal(first[0], second[0]) and torch.equal(first[1], second[1])


def test_unnormalised_and_other_float_dtypes(data):
    base = cosine_topk(data, 5, candidate_dtype=None)
    scaled = cosine_topk(data * torch.linspace(0.01, 100.0, len(data)).unsqueeze(1), 5, candidate_dtype=None)
    assert torch.equal(base[0], scaled[0])
    torch.testing.assert_close(base[1], scaled[1], atol=1e-6, rtol=0)
    double = cosine_topk(data.double(), 5, candidate_dtype=None)
    assert torch.equal(base[0], double[0]) and double[1].dtype == torch.float32


def test_inputs_that_require_grad(data):
    x = data.clone().requires_grad_(True)
    index, score = cosine_topk(x, 4)
    assert not score.requires_grad
    assert torch.equal(index, cosine_topk(data, 4)[0])


def test_clustered_points_find_their_cluster():
    gen = torch.Generator().manual_seed(3)
    clusters, per_cluster, d = 20, 30, 64
    centres = torch.nn.functional.normalize(torch.randn(clusters, d, generator=gen), dim=1)
    labels = torch.arange(clusters).repeat_interleave(per_cluster)
    x = centres[labels] + 0.8 * torch.randn(len(labels), d, generator=gen) / math.sqrt(d)
    index, _ = cosine_topk(x, 10, block_size=100)
    same = labels[index] == labels.unsqueeze(1)
    assert float(same.float().mean()) >= 0.95
    assert float(same.float().mean(dim=1).min()) >= 0.7


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"k": 0}, "k"),
        ({"k": 2.5}, "k"),
        ({"k": 3, "threshold": 1.5}, "threshold"),
        ({"k": 3, "threshold": -1.01}, "threshold"),
        ({"k": 3, "y": torch.randn(4, 5)}, "dims"),
        ({"k": 3, "y": torch.randn(4)}, "y"),
        ({"k": 3, "block_size": 0}, "block_size"),
        ({"k": 3, "margin": -1}, "margin"),
        ({"k": 3, "candidate_dtype": torch.int32}, "candidate_dtype"),
    ],
)
def test_bad_arguments_are_named(kwargs, name):
    with pytest.raises(ValueError, match=name):
        cosine_topk(torch.randn(5, 3), **kwargs)


def test_bad_x_is_named():
    for x in (torch.randn(5), torch.arange(6).view(2, 3), torch.tensor([[1.0, math.nan]]), [[1.0, 2.0]]):
        with pytest.raises(ValueError, match="x"):
            cosine_topk(x, 1)


def test_empty_input():
    index, score = cosine_topk(torch.empty(0, 4), 3)
    assert index.shape == score.shape == (0, 3)


# ---- topk_to_edges -------------------------------------------------------


def edges_as_dict(edge_index, weight):
    return {(int(a), int(b)): float(w) for (a, b), w in zip(edge_index.T.tolist(), weight.tolist())}


@pytest.fixture
def hand_built():
    # 0 lists 1 (0.9) and 2 (0.5); 1 lists 0 (0.7); 2 lists itself (dropped) and padding;
    # 3 lists 0 (0.25) then padding.
    index = torch.tensor([[1, 2], [0, -1], [2, -1], [0, -1]])
    score = torch.tensor([[0.9, 0.5], [0.7, NEG_INF], [1.0, NEG_INF], [0.25, NEG_INF]])
    return index, score


def test_edges_symmetric_max(hand_built):
    edge_index, weight = topk_to_edges(*hand_built)
    assert edge_index.dtype == torch.int64 and weight.dtype == torch.float32
    assert edges_as_dict(edge_index, weight) == {
        (0, 1): pytest.approx(0.9),
        (1, 0): pytest.approx(0.9),
        (0, 2): 0.5,
        (2, 0): 0.5,
        (0, 3): 0.25,
        (3, 0): 0.25,
    }
    # sorted by source, then target; no self loops; unique
    assert edge_index.T.tolist() == [[0, 1], [0, 2], [0, 3], [1, 0], [2, 0], [3, 0]]


def test_edges_symmetric_mean(hand_built):
    edge_index, weight = topk_to_edges(*hand_built, reduce="mean")
    got = edges_as_dict(edge_index, weight)
    assert got[(0, 1)] == pytest.approx(0.8) and got[(1, 0)] == pytest.approx(0.8)
    assert got[(0, 2)] == 0.5 and got[(3, 0)] == 0.25
    assert len(got) == 6


def test_edges_directed(hand_built):
    edge_index, weight = topk_to_edges(*hand_built, symmetric=False)
    assert edges_as_dict(edge_index, weight) == {
        (0, 1): pytest.approx(0.9),
        (0, 2): 0.5,
        (1, 0): pytest.approx(0.7),
        (3, 0): 0.25,
    }


def test_edges_from_cosine_topk(data):
    index, score = cosine_topk(data, 5)
    edge_index, weight = topk_to_edges(index, score)
    assert not bool((edge_index[0] == edge_index[1]).any())
    pairs = set(map(tuple, edge_index.T.tolist()))
    assert len(pairs) == edge_index.shape[1]
    assert all((b, a) in pairs for a, b in pairs)
    assert len(pairs) >= 500 * 5  # every listed pair plus its reverse, deduplicated
    sim = reference(data)
    torch.testing.assert_close(weight.double(), sim[edge_index[0], edge_index[1]], atol=1e-5, rtol=0)


def test_edges_empty_and_bad_arguments():
    edge_index, weight = topk_to_edges(torch.full((3, 2), -1), torch.full((3, 2), NEG_INF))
    assert edge_index.shape == (2, 0) and weight.shape == (0,)
    with pytest.raises(ValueError, match="reduce"):
        topk_to_edges(torch.zeros(1, 1, dtype=torch.int64), torch.zeros(1, 1), reduce="sum")
    with pytest.raises(ValueError, match="score"):
        topk_to_edges(torch.zeros(2, 1, dtype=torch.int64), torch.zeros(1, 1))
    with pytest.raises(ValueError, match="index"):
        topk_to_edges(torch.zeros(2, 1), torch.zeros(2, 1))


def test_graph_package_reexports_the_ops_knn():
    import interestgraph.graph as graph
    import interestgraph.ops as ops

    assert graph.cosine_topk is ops.cosine_topk is cosine_topk
    assert graph.topk_to_edges is ops.topk_to_edges is topk_to_edges
