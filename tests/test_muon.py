"""Muon against torch.optim.Muon itself, whose Newton–Schulz iteration runs in bfloat16.

``tests/test_optimizers.py`` checks optimlab's Muon exactly (1e-12) against torch's
algorithm transcribed in float64; here the real ``torch.optim.Muon`` (plus AdamW on
the biases) must agree within bfloat16's rounding of the orthogonalized update.
"""

from __future__ import annotations

import numpy as np
import pytest

from optimlab import optimizers

torch = pytest.importorskip("torch", reason="PyTorch is not installed (the oracle)")

SHAPES = [(6, 4), (6,), (3, 6), (3,)]  # a tall and a wide matrix, and their biases


def _runs(steps, seed=0, **hyper):
    rng = np.random.default_rng(seed)
    params = [rng.normal(size=s) for s in SHAPES]
    grads = [[rng.normal(size=s) for s in SHAPES] for _ in range(steps)]
    default = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        tparams = [torch.tensor(p, requires_grad=True) for p in params]
        matrices = [p for p in tparams if p.ndim == 2]
        biases = [p for p in tparams if p.ndim != 2]
        opt = optimizers.get("muon", **hyper)
        h = opt.hyperparameters
        muon = torch.optim.Muon(
            matrices,
            lr=h["lr"],
            weight_decay=h["weight_decay"],
            momentum=h["momentum"],
            nesterov=h["nesterov"],
            eps=h["eps"],
        )
        adamw = torch.optim.AdamW(biases, lr=h["adamw_lr"], weight_decay=h["weight_decay"])
        ours, state = [p.copy() for p in params], opt.init(params)
        for step in grads:
            for p, g in zip(tparams, step):
                p.grad = torch.tensor(g)
            muon.step()
            adamw.step()
            ours, state = opt.step(ours, step, state)
    finally:
        torch.set_default_dtype(default)
    return params, ours, [p.detach().numpy() for p in tparams]


@pytest.mark.parametrize("nesterov", [True, False])
def test_muon_moves_the_matrices_as_torch_does_within_bfloat16_rounding(nesterov):
    start, ours, theirs = _runs(5, lr=0.02, weight_decay=0.05, nesterov=nesterov)
    _, other, _ = _runs(5, lr=0.02, weight_decay=0.05, nesterov=not nesterov)
    for i in (0, 2):
        # the matrices' moves agree within a few bfloat16 roundings (2**-8 each) through
        # five iterations of five steps: 5% of the move; another rule is far outside
        mine, their = ours[i] - start[i], theirs[i] - start[i]
        assert np.linalg.norm(mine - their) <= 5e-2 * np.linalg.norm(their)
        assert np.linalg.norm(mine - their) > 1e-12 * np.linalg.norm(their)  # not float64
        wrong = other[i] - start[i]
        assert np.linalg.norm(wrong - their) > 0.2 * np.linalg.norm(their)
    for i in (1, 3):  # the biases: AdamW, exactly
        np.testing.assert_allclose(ours[i], theirs[i], rtol=1e-12, atol=1e-14)


def test_the_orthogonalized_update_has_singular_values_near_one():
    """What Newton–Schulz is for: U S V^T becomes about U V^T (S' within 0.5..1.5)."""
    rng = np.random.default_rng(1)
    U = rng.normal(size=(2, 5, 8)) * np.array([[[1.0]], [[100.0]]])  # two members
    from optimlab.optimizers.muon import newton_schulz

    ortho = newton_schulz(np, U, (3.4445, -4.775, 2.0315), 5, 1e-7)
    for k in range(2):
        singular = np.linalg.svd(ortho[k], compute_uv=False)
        assert np.all((singular > 0.5) & (singular < 1.5)), singular
        single = newton_schulz(np, U[k], (3.4445, -4.775, 2.0315), 5, 1e-7)
        np.testing.assert_allclose(ortho[k], single, rtol=1e-12, atol=1e-14)


def test_flushing_subnormals_leaves_every_updated_weight_as_it_was():
    """Float32 momentum with subnormal columns (pixels rarely lit): the step, with the
    flush that keeps the products fast, moves the weights exactly as without it."""
    from optimlab.optimizers import muon

    rng = np.random.default_rng(2)
    W = rng.normal(scale=0.1, size=(30, 784)).astype(np.float32)
    G = rng.normal(scale=1e-3, size=W.shape).astype(np.float32)
    G[:, :300] = np.float32(3e-39) * rng.normal(size=(30, 300)).astype(np.float32)
    assert np.any((np.abs(G) < np.finfo(np.float32).smallest_normal) & (G != 0))
    opt = optimizers.get("muon", lr=0.02, momentum=0.0, nesterov=False, weight_decay=0.0)
    (stepped,), _ = opt.step([W.copy()], [G], opt.init([W]))

    def unflushed(xp, U, coefficients, steps, eps):
        a, b, c = coefficients
        X = U / max(np.sqrt(np.sum(U * U)), np.float32(eps))
        for _ in range(steps):
            S = X @ X.T
            X = a * X + (b * S + c * (S @ S)) @ X
        return X

    flushed = muon.newton_schulz(np, G, (3.4445, -4.775, 2.0315), 5, 1e-7)
    reference = unflushed(np, G, (3.4445, -4.775, 2.0315), 5, 1e-7)
    assert np.count_nonzero(flushed[:, :300]) == 0 < np.count_nonzero(reference[:, :300])
    np.testing.assert_array_equal(flushed[:, 300:] != 0, reference[:, 300:] != 0)
    np.testing.assert_array_equal(stepped, W - np.float32(0.02) * reference)


def test_the_biases_step_as_optimlabs_adamw_at_adamw_lr_bit_for_bit():
    """Muon's two parts: the vectors take AdamW's rule (torch's betas and eps) at
    ``adamw_lr``, whatever the matrices' ``lr``; the matrices another rule."""
    rng = np.random.default_rng(3)
    params = [rng.normal(size=s).astype(np.float32) for s in SHAPES]
    steps = [[rng.normal(size=s).astype(np.float32) for s in SHAPES] for _ in range(4)]
    muon = optimizers.get("muon", lr=0.02, adamw_lr=3e-3, weight_decay=0.05)
    adamw = optimizers.get("adamw", lr=3e-3, weight_decay=0.05)
    ours, state = params, muon.init(params)
    theirs, adam_state = params, adamw.init(params)
    for grads in steps:
        ours, state = muon.step(ours, grads, state)
        theirs, adam_state = adamw.step(theirs, grads, adam_state)
    for i in (1, 3):
        np.testing.assert_array_equal(ours[i], theirs[i])
        np.testing.assert_array_equal(state.mean_square[i], adam_state.mean_square[i])
    for i in (0, 2):
        assert np.max(np.abs(ours[i] - theirs[i])) > 1e-3


@pytest.mark.parametrize("members", [False, True])
def test_a_matrix_keeps_one_momentum_and_a_placeholder_for_the_second(members):
    """A matrix's ``mean_square`` is one zero per member, through the steps (the layout
    checkpoints written before the parts hold); a bias keeps both moments."""
    rng = np.random.default_rng(4)
    lead = (2,) if members else ()
    params = [rng.normal(size=(*lead, *s)) for s in SHAPES]
    opt = optimizers.get("muon", lr=0.02)
    state = opt.init(params, members=members)
    for _ in range(3):
        grads = [rng.normal(size=p.shape) for p in params]
        params, state = opt.step(params, grads, state)
    for i in (0, 2):
        assert state.mean[i].shape == params[i].shape
        np.testing.assert_array_equal(state.mean_square[i], np.zeros((*lead, 1)))
    for i in (1, 3):
        assert state.mean_square[i].shape == params[i].shape
        assert np.all(state.mean_square[i] > 0)
