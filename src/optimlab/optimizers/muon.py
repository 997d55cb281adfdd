"""Muon (Jordan et al., 2024): momentum orthogonalized by Newton–Schulz, for weight matrices."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import array_api_compat

from ..errors import ConfigError
from .adafactor import in_dtype
from .adaptive import AdamW
from .base import Optimizer, Part, State, assign, decoupled_decay, matrices, the_rest
from .hyperparameters import Hyperparameter, epsilon, flag, integer, number, rate
from .rules import MOMENTUM, adam_corrections

__all__ = ["Muon", "adamw_step", "orthogonalized_step"]

#: torch.optim.AdamW's defaults, which Muon's AdamW part keeps
_BETA1, _BETA2, _EPS = 0.9, 0.999, 1e-8


def orthogonalized_step(
    xp,
    w,
    g,
    M,
    *,
    t,
    lead,
    lr,
    weight_decay,
    momentum,
    nesterov,
    ns_a,
    ns_b,
    ns_c,
    eps,
    ns_steps,
    **_,
):
    """Muon's step of a matrix ``w`` (``([K,] A, B)``) with momentum ``M`` (the formula of
    :class:`Muon`); ``adamw_lr`` is the other part's."""
    if not isinstance(ns_steps, int):
        raise ConfigError(_SHARED_STEPS)
    M = assign(M, lerp(xp, M, g, 1.0 - momentum))  # in place: a captured graph's slot
    U = lerp(xp, g, M, momentum)
    if not isinstance(nesterov, bool):  # members that differ: chosen on the device
        U = xp.where(nesterov != 0, U, M)
    elif not nesterov:
        U = M
    ortho = newton_schulz(xp, U, (ns_a, ns_b, ns_c), ns_steps, eps)
    rows, columns = w.shape[-2], w.shape[-1]
    w = decoupled_decay(w, lr, weight_decay)
    w -= (lr * max(1.0, rows / columns) ** 0.5) * ortho
    return w, (M,)


def adamw_step(xp, w, g, M, N, *, t, adamw_lr, weight_decay, **_):
    """AdamW's step (:meth:`AdamW.update <optimlab.optimizers.AdamW.update>`) at rate
    ``adamw_lr`` with torch's betas 0.9 and 0.999 and eps 1e-8, for the arrays that are not
    matrices; Muon's other hyper-parameters are the matrices' part's."""
    # Adam's bias corrections computed in the count's dtype (a graph's float64 device
    # count) and then taken to the arrays'
    corrections, _ = adam_corrections(t, {}, lr=adamw_lr, beta1=_BETA1, beta2=_BETA2)
    step, root = (in_dtype(xp, corrections[k], w) for k in ("step", "root"))
    return AdamW.update(
        xp,
        w,
        g,
        M,
        N,
        t=t,
        lr=adamw_lr,
        beta1=_BETA1,
        beta2=_BETA2,
        eps=_EPS,
        weight_decay=weight_decay,
        step=step,
        root=root,
    )


class Muon(Optimizer):
    """Muon on every weight matrix, AdamW on the other parameters (the biases).

    A matrix ``W`` of shape ``(A, B)`` with gradient ``g``::

        M = M + (1 - momentum) (g - M)
        U = g + momentum * (M - g)    (nesterov; else U = M)
        O = newton_schulz(U)          (an approximately orthogonal matrix like U)
        W *= 1 - lr * weight_decay
        W -= lr * sqrt(max(1, A / B)) * O

    where ``newton_schulz`` transposes ``U`` if ``A > B``, divides it by
    ``max(||U||_F, eps)`` and repeats ``ns_steps`` times ``X = a X + (b S + c S @ S) @ X``
    with ``S = X @ X.T`` and ``(a, b, c) = (ns_a, ns_b, ns_c)``. A bias vector takes
    AdamW's step with ``lr = adamw_lr``, betas 0.9 and 0.999, eps 1e-8 and the same
    ``weight_decay``. Equals ``torch.optim.Muon`` (its ``adjust_lr_fn`` at its default,
    ``"original"``) plus ``torch.optim.AdamW`` — exactly where the iteration runs in the
    same precision: torch runs it in bfloat16, optimlab in the parameters' dtype. A
    schedule scales both ``lr`` and ``adamw_lr``. torch's other ``adjust_lr_fn``,
    ``"match_rms_adamw"`` (``lr * 0.2 * sqrt(max(A, B))``), is not offered: the
    hyper-parameters are numbers. In a member stack every hyper-parameter may differ
    per member (``nesterov`` is then chosen on the device) but ``ns_steps``, which
    ``init`` refuses to vary.

    The two rules are two parts (:class:`~optimlab.optimizers.base.Part`): the matrices take
    :func:`orthogonalized_step` and keep the slot ``mean``; the other arrays take
    :func:`adamw_step` and keep ``mean`` and ``mean_square`` (a matrix's ``mean_square``
    is the placeholder of a slot its part does not keep: one zero per member).
    """

    name = "muon"
    slots = ("mean", "mean_square")
    elementwise = False
    parts: ClassVar[tuple[Part, ...]] = (
        Part(matrices, orthogonalized_step, slots=("mean",)),
        Part(the_rest, adamw_step, slots=("mean", "mean_square")),
    )
    scheduled: ClassVar[tuple[str, ...]] = ("lr", "adamw_lr")
    lr = Hyperparameter(1e-3, rate, "the matrices' rate", search=(1e-4, 1e0))
    weight_decay = Hyperparameter(
        0.1, rate, "decoupled weight decay of every parameter", search=(1e-5, 1.0)
    )
    momentum = MOMENTUM.but(default=0.95, doc="decay of the momentum")
    nesterov = Hyperparameter(True, flag, "orthogonalize the Nesterov look-ahead")
    ns_a = Hyperparameter(3.4445, number, "the quintic iteration's first coefficient")
    ns_b = Hyperparameter(-4.775, number, "the quintic iteration's second coefficient")
    ns_c = Hyperparameter(2.0315, number, "the quintic iteration's third coefficient")
    eps = Hyperparameter(1e-7, epsilon, "floor of the norm the iteration divides by")
    ns_steps = Hyperparameter(5, integer(1, 100), "Newton–Schulz iterations")
    adamw_lr = Hyperparameter(
        1e-3, rate, "the rate of AdamW on the parameters that are not matrices", search=(1e-4, 1e-1)
    )

    def init(
        self,
        params: Sequence[Any],
        *,
        hyperparameters: Mapping[str, Any] | None = None,
        members: bool = False,
        biases: Any = None,
    ) -> State:
        """The initial state (see :meth:`Optimizer.init`); a member stack whose members
        differ in ``ns_steps`` is refused (the iteration count is the program's, not an
        array's: it cannot differ per member without a read back from the device)."""
        state = super().init(
            params, hyperparameters=hyperparameters, members=members, biases=biases
        )
        if not isinstance(state.hyperparameters["ns_steps"], int):
            raise ConfigError(_SHARED_STEPS)
        return state


_SHARED_STEPS = "the members of a muon stack must share one ns_steps (an integer)"


def lerp(xp: Any, start: Any, end: Any, weight: Any) -> Any:
    """``start + weight (end - start)``, rounded as ``torch.lerp`` rounds it (from the
    nearer end)."""
    if isinstance(weight, float):
        if weight < 0.5:
            return start + weight * (end - start)
        return end - (end - start) * (1.0 - weight)
    return xp.where(
        weight < 0.5, start + weight * (end - start), end - (end - start) * (1.0 - weight)
    )


def newton_schulz(xp: Any, U: Any, coefficients: tuple[Any, Any, Any], steps: int, eps: Any) -> Any:
    """The quintic Newton–Schulz iteration of ``U`` (``([K,] A, B)``, per member), in
    ``U``'s dtype: an approximately orthogonal matrix with ``U``'s singular vectors."""
    a, b, c = coefficients
    tall = U.shape[-2] > U.shape[-1]
    X = xp.matrix_transpose(U) if tall else U
    norm = xp.sqrt(xp.sum(X * X, axis=(-2, -1), keepdims=True))
    X = X / xp.maximum(norm, xp.asarray(eps, dtype=X.dtype, device=array_api_compat.device(X)))
    # Entries this far below the largest (the momentum of an input pixel that is rarely
    # lit decays geometrically) turn subnormal in the products and make a CPU's BLAS
    # ~10x slower; their share of any weight's step is far below its rounding, and a
    # column that is zero stays zero, so flushing them once is enough.
    X = xp.where(xp.abs(X) < xp.finfo(X.dtype).eps ** 4, xp.zeros_like(X), X)
    for _ in range(steps):
        S = X @ xp.matrix_transpose(X)
        X = a * X + (b * S + c * (S @ S)) @ X
    return xp.matrix_transpose(X) if tall else X
