"""The shared normalised-adjacency propagation (LightGCN baseline and the model)."""

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from interestgraph.graph.propagation import layer_weights, propagate, symmetric_normalise, to_torch_csr


def _path_graph() -> sp.csr_matrix:
    # 0 - 1 - 2 with weights 2 and 1, node 3 isolated
    a = np.zeros((4, 4))
    a[0, 1] = a[1, 0] = 2.0
    a[1, 2] = a[2, 1] = 1.0
    return sp.csr_matrix(a)


def test_symmetric_normalise_by_hand():
    norm = symmetric_normalise(_path_graph()).toarray()
    degree = np.array([2.0, 3.0, 1.0, 1.0])  # isolated node counted as 1, its row stays zero
    assert norm[0, 1] == pytest.approx(2 / np.sqrt(2 * 3))
    assert norm[1, 2] == pytest.approx(1 / np.sqrt(3 * 1))
    assert np.allclose(norm, norm.T) and not norm[3].any()
    assert np.allclose(norm, _path_graph().toarray() / np.sqrt(np.outer(degree, degree)))


@pytest.mark.parametrize(
    "bad, match",
    [
        (sp.csr_matrix(np.ones((2, 3))), "square"),
        (sp.csr_matrix(np.array([[0.0, -1.0], [-1.0, 0.0]])), "non-negative"),
        (sp.csr_matrix(np.array([[0.0, 1.0], [0.0, 0.0]])), "symmetric"),
    ],
)
def test_symmetric_normalise_rejects(bad, match):
    with pytest.raises(ValueError, match=match):
        symmetric_normalise(bad)


def test_propagate_equals_the_dense_polynomial():
    norm = symmetric_normalise(_path_graph())
    x = torch.randn(4, 3, dtype=torch.float64)
    dense = torch.from_numpy(norm.toarray())
    expected = 0.5 * x + 0.3 * dense @ x + 0.2 * dense @ dense @ x
    got = propagate(to_torch_csr(norm, dtype=torch.float64), x, 2, alphas=(0.5, 0.3, 0.2))
    assert torch.allclose(got, expected)
    uniform = propagate(to_torch_csr(norm, dtype=torch.float64), x, 2)
    assert torch.allclose(uniform, (x + dense @ x + dense @ dense @ x) / 3)


def test_propagate_backward_through_csr():
    adjacency = to_torch_csr(symmetric_normalise(_path_graph()))
    x = torch.randn(4, 2, requires_grad=True)
    propagate(adjacency, x, 3).sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all()


def test_layer_weights_validate():
    assert layer_weights(3) == [0.25] * 4
    with pytest.raises(ValueError, match="alphas"):
        layer_weights(2, (1.0, 2.0))
    with pytest.raises(ValueError, match="layers"):
        layer_weights(-1)
