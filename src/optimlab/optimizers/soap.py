"""SOAP (Vyas et al., 2024): Adam in the eigenbasis of Shampoo's preconditioner."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import array_api_compat

from ..errors import ConfigError
from .adafactor import in_dtype
from .base import Optimizer, assign
from .hyperparameters import Hyperparameter, epsilon, flag, fraction, integer, rate
from .muon import lerp

__all__ = ["SOAP"]


class SOAP(Optimizer):
    """SOAP: Adam's moments kept in the eigenbasis of Shampoo's two factors.

    A matrix ``W`` of shape ``(m, n)`` with gradient ``G`` keeps Shampoo's factors
    ``L`` (``m x m``) and ``R`` (``n x n``) and their eigenbases ``QL``, ``QR``;
    ``rot(X) = QL^T X QR`` and ``back(X) = QL X QR^T``. Step 1 only starts them::

        L = L + (1 - shampoo_beta) (G G^T - L),   R likewise with G^T G
        QL, QR = the eigenvectors of L and R, by decreasing eigenvalue

    and leaves ``W`` as it is. Step ``t > 1``, with ``s = t - 1``::

        M = M + (1 - beta1) (G - M)                        # in W's own basis
        V = V + (1 - beta2) (rot(G)**2 - V)                # in the eigenbasis
        N = back(rot(M) / (sqrt(V) + eps))
        N /= sqrt(mean(N**2)) + eps                        (normalize_gradient)
        W -= lr sqrt(1 - beta2**s) / (1 - beta1**s) N      (correct_bias; else lr N)
        W *= 1 - lr weight_decay
        L, R updated as in step 1
        every precondition_frequency-th s: for each factor F with basis Q,
            P = F Q; sort P's columns (and V's rows or columns) by decreasing
            diag(Q^T P); Q = the Q of P's QR decomposition   (one power iteration)

    An axis longer than ``max_precondition_dim`` keeps no factor (its basis is the
    identity). A vector (a bias) is Adam's in its own basis, unless
    ``precondition_1d``: then it keeps one factor, ``L = g g^T`` averaged.

    Vyas, Morwani, Zhao, Kwun, Shapira, Brandfonbrener, Janson & Kakade, "SOAP:
    Improving and Stabilizing Shampoo using Adam" (2024, arXiv:2409.11321),
    Algorithm 1, as ``pytorch_optimizer.SOAP`` 4.1.0 computes it (its names and
    defaults, ``betas`` split, ``shampoo_beta`` None meaning ``beta2``), with its
    quirks: the first step only starts the preconditioner, and the decay comes after
    the step. ``lr`` is in parameter units per unit of normalized step;
    ``precondition_frequency`` in steps.

    Two choices differ from the oracle, both where its result depends on the last bits
    of its input: the null space of a rank-deficient factor gets a basis of its own
    (:func:`eigenbasis`; where it has at most one dimension, the basis is the
    oracle's up to the columns' signs, which the steps do not depend on),
    and the refresh's QR decomposition runs in the arrays' dtype, where the oracle
    (as the paper's code) rounds its input to float32: on float64 arrays that cast
    keeps the bases orthogonal to 1e-7 only, and a rounding difference of one ulp
    before it (a member stack's batched products, another library's BLAS) moves them
    by 1e-7. So the steps equal the oracle's to its rounding (1e-12 over 50 float64
    steps) until the first refresh, and after it with the oracle's QR run in float64;
    with its float32 QR they differ by float32's rounding (up to 4e-7 on parameters of
    order one in ``tests/test_matrix_optimizers.py``).

    Not supported from the oracle: ``merge_dims`` and ``data_format`` (for
    convolution kernels: SOAP here takes vectors and matrices), ``maximize``. The
    members of a stack share ``precondition_frequency``, ``max_precondition_dim``
    and ``precondition_1d`` (a stack whose members differ in them is refused at its
    first step), and each member is computed alone (see
    :func:`member_by_member`). Under a device step count (a captured CUDA graph) the
    first step's eigendecomposition and the refresh are computed at every step and
    chosen on the device: the same numbers, slowly.
    """

    name = "soap"
    slots = ("mean", "mean_square", "left", "right", "left_basis", "right_basis")
    elementwise = False
    lr = Hyperparameter(3e-3, rate, "learning rate", search=(1e-5, 1e-1))
    beta1 = Hyperparameter(0.95, fraction, "decay of the mean", search=(0.5, 0.996), scale="log1m")
    beta2 = Hyperparameter(
        0.95,
        fraction,
        "decay of the second moment (in the eigenbasis)",
        search=(0.9, 0.999),
        scale="log1m",
    )
    shampoo_beta = Hyperparameter(
        None, fraction, "decay of Shampoo's factors; None: beta2", derive=lambda opt: opt.beta2
    )
    weight_decay = Hyperparameter(
        1e-2, rate, "decoupled weight decay, after the step", search=(1e-5, 1.0)
    )
    precondition_frequency = Hyperparameter(
        10, integer(1, 2**31), "steps between refreshes of the eigenbases"
    )
    max_precondition_dim = Hyperparameter(
        10000, integer(1, 2**31), "longest axis that keeps a factor"
    )
    precondition_1d = Hyperparameter(False, flag, "vectors keep a factor too")
    correct_bias = Hyperparameter(True, flag, "Adam's bias correction of the step")
    normalize_gradient = Hyperparameter(False, flag, "divide the step by its RMS")
    eps = Hyperparameter(1e-8, epsilon, "added to the denominator")
    # 113 ms a step on the report's network against Adam's 0.17 ms (NumPy, a shared 2-core
    # machine): the 784 x 784 factor's products and its QR every 10 steps
    pass_cost = 1000.0
    default_benchmark = False  # the default benchmark would take hours: --optimizers all

    def init_slot(self, name: str, p: Any, lead: int) -> Any:
        # the factors and bases of the axes that keep one: (d, d); else one zero (1, 1)
        if name in ("mean", "mean_square"):
            return super().init_slot(name, p, lead)
        xp = array_api_compat.array_namespace(p)
        left, right = _kept(p.shape[lead:], self.max_precondition_dim, self.precondition_1d)
        d = left if name.startswith("left") else right
        shape = (*p.shape[:lead], d or 1, d or 1)
        return xp.zeros(shape, dtype=p.dtype, device=array_api_compat.device(p))

    @staticmethod
    def update(xp, w, g, M, V, L, R, QL, QR, *, t, lead, **hyperparameters):
        _shared(hyperparameters)
        if lead:  # each member alone (see member_by_member)
            return member_by_member(xp, SOAP.update, w, g, (M, V, L, R, QL, QR), t, hyperparameters)
        return soap(xp, w, g, M, V, L, R, QL, QR, t=t, **hyperparameters)


def soap(
    xp, w, g, M, V, L, R, QL, QR, *, t, lr, beta1, beta2, shampoo_beta, weight_decay,
    precondition_frequency, max_precondition_dim, precondition_1d, correct_bias,
    normalize_gradient, eps,
):  # fmt: skip
    """One array's step (see :class:`SOAP`): ``(w, (M, V, L, R, QL, QR))``. With a device
    count ``t`` every choice that depends on it is made on the device."""
    kept = _kept(w.shape, max_precondition_dim, precondition_1d)
    basis = Basis(xp, QL if kept[0] else None, QR if kept[1] else None, w.ndim == 1)
    device = not isinstance(t, int)
    first = t == 1  # step 1 only starts the preconditioner
    if device or not first:  # Adam in the eigenbasis
        s = xp.maximum(t - 1, xp.ones_like(t)) if device else t - 1  # (unused at step 1)
        M_new = lerp(xp, M, g, 1.0 - beta1)
        V_new = lerp(xp, V, basis.rotate(g) ** 2, 1.0 - beta2)
        N = basis.back(basis.rotate(M_new) / (xp.sqrt(V_new) + eps))
        if normalize_gradient is not False:
            N = N / _choose(xp, normalize_gradient, xp.sqrt(xp.mean(N * N)) + eps, 1.0)
        step = lr
        if correct_bias is not False:
            ratio = _sqrt(xp, 1.0 - beta2**s) / (1.0 - beta1**s)
            step = lr * _choose(xp, correct_bias, ratio, 1.0)
        w_new = w - in_dtype(xp, step, w) * N
        if not (isinstance(weight_decay, float) and weight_decay == 0.0):
            w_new *= 1.0 - lr * weight_decay  # decoupled, after the step
        if device:
            M_new, V_new, w_new = (
                xp.where(first, a, b) for a, b in ((M, M_new), (V, V_new), (w, w_new))
            )
        M, V, w = assign(M, M_new), assign(V, V_new), assign(w, w_new)
    factors, bases = [L, R], [QL, QR]
    refreshing = (t > 1) & ((t - 1) % precondition_frequency == 0)
    for i in (0, 1):
        if not kept[i]:
            continue
        F = factors[i] = assign(
            factors[i], lerp(xp, factors[i], basis.outer(g, i), 1.0 - shampoo_beta)
        )
        if device:
            refreshed, sorted_V = refresh(xp, F, bases[i], V, axis=i, vector=basis.vector)
            V = assign(V, xp.where(refreshing, sorted_V, V))
            new = xp.where(first, eigenbasis(xp, F), xp.where(refreshing, refreshed, bases[i]))
        elif first:
            new = eigenbasis(xp, F)
        elif refreshing:
            new, sorted_V = refresh(xp, F, bases[i], V, axis=i, vector=basis.vector)
            V = assign(V, sorted_V)
        else:
            continue
        bases[i] = assign(bases[i], new)
    return w, (M, V, *factors, *bases)


def member_by_member(xp: Any, update: Any, w: Any, g: Any, slots: tuple, t: Any, hyper: dict):
    """``update`` on each member of a stack alone, the results written into the stack.

    An eigendecomposition is not continuous where eigenvalues repeat (a factor of few
    gradients has many zero eigenvalues): any basis of that eigenspace is one, and the
    last bit of the factor chooses it. A batched matrix product may round otherwise than
    one matrix's (PyTorch's does), so a member computes exactly what it computes alone
    only if it is computed alone.
    """
    outs = []
    for k in range(w.shape[0]):
        mine = {n: v if isinstance(v, (bool, int, float)) else v[k, ...] for n, v in hyper.items()}
        outs.append(
            update(xp, w[k, ...], g[k, ...], *(a[k, ...] for a in slots), t=t, lead=0, **mine)
        )
    w = assign(w, xp.stack([o[0] for o in outs]))
    new = [assign(a, xp.stack([o[1][i] for o in outs])) for i, a in enumerate(slots)]
    return w, tuple(new)


class Basis:
    """The rotation of SOAP's moments: ``QL^T X QR`` and back, each basis optional (an
    axis without a factor keeps its own basis); a vector's is ``QL^T x``."""

    def __init__(self, xp: Any, left: Any, right: Any, vector: bool) -> None:
        self.xp, self.left, self.right, self.vector = xp, left, right, vector

    def rotate(self, X: Any) -> Any:
        """Into the eigenbasis: the oracle's forward projection, in its order."""
        mT = self.xp.matrix_transpose
        if self.vector:
            return X if self.left is None else (X[..., None, :] @ self.left)[..., 0, :]
        if self.left is not None:
            X = mT(self.left) @ X
        return X if self.right is None else X @ self.right

    def back(self, X: Any) -> Any:
        """Back to the parameters' basis: the oracle's backward projection."""
        mT = self.xp.matrix_transpose
        if self.vector:
            return X if self.left is None else (X[..., None, :] @ mT(self.left))[..., 0, :]
        if self.left is not None:
            X = self.left @ X
        return X if self.right is None else X @ mT(self.right)

    def outer(self, g: Any, i: int) -> Any:
        """The statistic of factor ``i``: ``g g^T`` of a vector, ``G G^T`` (left) or
        ``G^T G`` (right) of a matrix."""
        mT = self.xp.matrix_transpose
        if self.vector:
            return g[..., :, None] * g[..., None, :]
        return g @ mT(g) if i == 0 else mT(g) @ g


def eigenbasis(xp: Any, F: Any) -> Any:
    """The eigenvectors of the factor ``F`` (symmetric, ``d x d``) by decreasing
    eigenvalue, as the oracle's ``torch.linalg.eigh(F + 1e-30 I)`` flipped, with one
    difference: the eigenspace of the eigenvalues that are zero to rounding (at most
    ``d eps max|lambda|``, NumPy's ``matrix_rank`` tolerance) gets a basis of its own
    rather than LAPACK's.

    A factor of few gradients is rank-deficient (step 1's ``G G^T`` has rank at most
    ``min(m, n)``; a batch of 10 on MNIST leaves 774 of 784 dimensions), and any basis
    of its null space is an eigenbasis: LAPACK picks one from the last bits of ``F``,
    so two libraries, or a member stack and a network alone, would pick different ones,
    and Adam's steps in them differ. Here the null space's basis is the eigenvectors
    of ``P D P``, ``P`` its projector and ``D = diag(1, ..., d)``: a function of the
    null space alone. Where ``F`` has full rank this is the oracle's basis (each
    column up to its sign, which the steps do not depend on).
    """
    mT = xp.matrix_transpose
    d = F.shape[-1]
    eye = _eye(xp, F)
    lam, U = xp.linalg.eigh(F + 1e-30 * eye)  # increasing
    zero = lam <= d * xp.finfo(F.dtype).eps * xp.max(xp.abs(lam))
    ranged = U * xp.astype(~zero, F.dtype)  # the null space's columns are 0
    P = eye - ranged @ mT(ranged)
    scale = xp.arange(1, d + 1, dtype=F.dtype, device=array_api_compat.device(F))
    mu, W = xp.linalg.eigh(P @ (scale[:, None] * P))  # the null space's last (mu >= 1)
    null = xp.arange(d, device=array_api_compat.device(F)) >= d - xp.sum(xp.astype(zero, xp.int64))
    # U's nonzero columns by decreasing eigenvalue, then W's null-space ones
    top = xp.max(xp.abs(lam))
    keys = xp.concat(
        [
            xp.where(zero, -1.0, 2.0 + lam / xp.where(top > 0, top, 1.0)),
            xp.where(null, mu / (d + 1), -1.0),
        ]
    )
    order = xp.argsort(-keys)[:d]
    return xp.take(xp.concat([U, W], axis=-1), order, axis=-1)


def refresh(xp: Any, F: Any, Q: Any, V: Any, *, axis: int, vector: bool) -> tuple[Any, Any]:
    """One power iteration of factor ``F`` from basis ``Q``, as the oracle's
    ``get_orthogonal_matrix_qr``: ``P = F Q``, its columns and ``V``'s entries along
    ``axis`` sorted by decreasing estimated eigenvalue ``diag(Q^T P)``, then the Q of
    ``P``'s QR decomposition (in ``P``'s dtype: the oracle's float32 is not kept, see
    :class:`SOAP`). Returns ``(new basis, sorted V)``."""
    P = F @ Q
    estimate = xp.sum(Q * P, axis=-2)  # (..., d)
    order = xp.argsort(-estimate, axis=-1)  # decreasing (NumPy has no descending=)
    P = xp.take_along_axis(P, xp.broadcast_to(order[..., None, :], P.shape), axis=-1)
    if vector:
        V = xp.take_along_axis(V, order, axis=-1)
    else:
        spread = order[..., :, None] if axis == V.ndim - 2 else order[..., None, :]
        V = xp.take_along_axis(V, xp.broadcast_to(spread, V.shape), axis=axis)
    return xp.linalg.qr(P).Q, V


def _kept(shape: tuple[int, ...], max_dim: int, precondition_1d: bool) -> tuple[int, int]:
    """The lengths of the axes that keep a factor (left, right); 0 where none."""
    if len(shape) == 1:
        return (shape[0] if precondition_1d and shape[0] <= max_dim else 0), 0
    if len(shape) != 2:
        raise ConfigError(
            f"soap preconditions vectors and matrices, not arrays of {len(shape)} axes"
        )
    return tuple(d if d <= max_dim else 0 for d in shape)


def _shared(hyper: Mapping[str, Any]) -> None:
    for name in ("precondition_frequency", "max_precondition_dim", "precondition_1d"):
        if not isinstance(hyper[name], (bool, int)):
            raise ConfigError(f"the members of a soap stack must share one {name}")


def _choose(xp: Any, switch: Any, on: Any, off: Any) -> Any:
    """``on`` where ``switch`` (a Python bool, or members' 0 or 1), else ``off``."""
    if isinstance(switch, bool):
        return on if switch else off
    return xp.where(switch != 0, on, off)


def _sqrt(xp: Any, x: Any) -> Any:
    return math.sqrt(x) if isinstance(x, (int, float)) else xp.sqrt(x)


def _eye(xp: Any, F: Any) -> Any:
    return xp.eye(F.shape[-1], dtype=F.dtype, device=array_api_compat.device(F))
