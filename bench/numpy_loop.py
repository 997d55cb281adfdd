"""The hand-written NumPy peer: what a skilled NumPy programmer writes for this network.

A two-layer sigmoid MLP with the report's cost, every buffer allocated once,
every operation writing into it with ``out=``, parameters and gradients as one
flat vector so an update rule is a few in-place calls for the whole network.
It is the practical floor for the CPU: the benchmark measures optimlab against it,
and the tests check that it computes what optimlab computes.

Only the 784-H-10 shape of the report (one hidden layer) is written out. The rules
are the report's seven and the elementwise ones after it (AdamW, AMSGrad, NAdam,
NAdamW, RAdam, Adamax, Lion); :data:`RULES` names them. Weight decay is applied as
optimlab applies it: added to the gradient (L2) or, for the rules in :data:`DECOUPLED`,
``p *= 1 - lr * weight_decay`` before the step.
"""

from __future__ import annotations

import math

import numpy as np

#: The update rules written out here (``NumpyLoop(..., optimizer=name)``).
RULES = (
    *("sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adadelta", "adam"),
    *("adamw", "amsgrad", "nadam", "nadamw", "radam", "adamax", "lion"),
)
#: The rules whose weight decay is decoupled (``p *= 1 - lr * weight_decay``) rather
#: than an L2 term added to the gradient.
DECOUPLED = frozenset({"adamw", "nadamw", "lion"})


class NumpyLoop:
    """Training state and preallocated buffers for one network and batch size."""

    def __init__(self, params: np.ndarray, layers, batch_size: int, optimizer: str, hyper: dict):
        n_in, n_hidden, n_out = layers
        dtype = params.dtype
        self.p = params.copy()
        self.g = np.zeros_like(self.p)
        self.tmp = np.empty_like(self.p)
        self.tmp2 = np.empty_like(self.p)
        sizes = [n_hidden * n_in, n_hidden, n_out * n_hidden, n_out]
        cuts = np.cumsum([0, *sizes])

        def views(flat):
            return (
                flat[cuts[0] : cuts[1]].reshape(n_hidden, n_in),
                flat[cuts[1] : cuts[2]],
                flat[cuts[2] : cuts[3]].reshape(n_out, n_hidden),
                flat[cuts[3] : cuts[4]],
            )

        self.W1, self.b1, self.W2, self.b2 = views(self.p)
        self.gW1, self.gb1, self.gW2, self.gb2 = views(self.g)
        self.batch_size = batch_size
        self._buffers(batch_size, n_in, n_hidden, n_out, dtype)
        self.optimizer = optimizer
        self.hyper = dict(hyper)
        self.slots = [np.zeros_like(self.p) for _ in range(3)]
        self.t = 0
        self.mu_product = 1.0  # NAdam's running product of its momentum schedule
        if optimizer not in RULES:
            raise ValueError(f"the NumPy loop has no rule {optimizer!r}: it has {RULES}")
        self.update = getattr(self, f"_{optimizer}")
        decay = float(self.hyper.get("weight_decay", 0.0))
        self.decay = None
        if decay and optimizer in DECOUPLED:
            self.decay = self._decoupled_decay
        elif decay:
            self.decay = self._l2

    def _buffers(self, b, n_in, n_hidden, n_out, dtype):
        self.xb = np.empty((b, n_in), dtype)
        self.yb = np.empty((b, n_out), dtype)
        self.a1 = np.empty((b, n_hidden), dtype)
        self.h1 = np.empty((b, n_hidden), dtype)
        self.a2 = np.empty((b, n_out), dtype)
        self.d2 = np.empty((b, n_out), dtype)
        self.d1 = np.empty((b, n_hidden), dtype)

    @staticmethod
    def _sigmoid(z, out):
        np.multiply(z, 0.5, out=out)
        np.tanh(out, out=out)
        out *= 0.5
        out += 0.5

    def step(self, X: np.ndarray, Y: np.ndarray, idx: np.ndarray) -> None:
        """One mini-batch step on the rows ``idx`` of ``X`` (images) and ``Y`` (one-hot)."""
        xb, yb, a1, a2, d1, d2, h1 = self.xb, self.yb, self.a1, self.a2, self.d1, self.d2, self.h1
        np.take(X, idx, axis=0, out=xb)
        np.take(Y, idx, axis=0, out=yb)
        np.matmul(xb, self.W1.T, out=a1)
        a1 += self.b1
        self._sigmoid(a1, a1)
        np.matmul(a1, self.W2.T, out=a2)
        a2 += self.b2
        self._sigmoid(a2, a2)
        np.subtract(a2, yb, out=d2)
        d2 *= 1.0 / len(idx)
        np.matmul(d2.T, a1, out=self.gW2)
        np.sum(d2, axis=0, out=self.gb2)
        np.matmul(d2, self.W2, out=d1)
        np.subtract(1.0, a1, out=h1)
        h1 *= a1
        d1 *= h1
        np.matmul(d1.T, xb, out=self.gW1)
        np.sum(d1, axis=0, out=self.gb1)
        self.t += 1
        if self.decay is not None:
            self.decay()
        self.update()

    # Weight decay, before the rule.

    def _l2(self):
        """``g += weight_decay * p`` (the gradient buffer is rewritten every step)."""
        np.multiply(self.p, self.hyper["weight_decay"], out=self.tmp)
        self.g += self.tmp

    def _decoupled_decay(self):
        self.p *= 1.0 - self.hyper["lr"] * self.hyper["weight_decay"]

    # The update rules, in place on the flat vectors.

    def _sgd(self):
        np.multiply(self.g, self.hyper["lr"], out=self.tmp)
        self.p -= self.tmp

    def _momentum(self):
        v, tmp = self.slots[0], self.tmp
        v *= self.hyper["momentum"]
        np.multiply(self.g, self.hyper["lr"], out=tmp)
        v += tmp
        self.p -= v

    def _nesterov(self):
        v, tmp = self.slots[0], self.tmp
        m = self.hyper["momentum"]
        np.multiply(self.g, self.hyper["lr"], out=tmp)
        v *= m
        v += tmp
        self.p -= tmp
        np.multiply(v, m, out=tmp)
        self.p -= tmp

    def _adagrad(self):
        G, tmp = self.slots[0], self.tmp
        np.multiply(self.g, self.g, out=tmp)
        G += tmp
        self._step_over_root(G)

    def _rmsprop(self):
        E, tmp, d = self.slots[0], self.tmp, self.hyper["decay"]
        np.multiply(self.g, self.g, out=tmp)
        tmp *= 1.0 - d
        E *= d
        E += tmp
        self._step_over_root(E)

    def _step_over_root(self, squares):
        """``p -= lr * g / (sqrt(squares) + eps)`` (AdaGrad's and RMSprop's step)."""
        tmp = self.tmp
        np.sqrt(squares, out=tmp)
        tmp += self.hyper["eps"]
        np.divide(self.g, tmp, out=tmp)
        tmp *= self.hyper["lr"]
        self.p -= tmp

    def _adadelta(self):
        (E, P, _), tmp, tmp2 = self.slots, self.tmp, self.tmp2
        d, eps = self.hyper["decay"], self.hyper["eps"]
        np.multiply(self.g, self.g, out=tmp)
        tmp *= 1.0 - d
        E *= d
        E += tmp
        np.add(P, eps, out=tmp)
        np.sqrt(tmp, out=tmp)
        np.add(E, eps, out=tmp2)
        np.sqrt(tmp2, out=tmp2)
        np.divide(tmp, tmp2, out=tmp)
        tmp *= self.g  # D
        np.multiply(tmp, tmp, out=tmp2)
        tmp2 *= 1.0 - d
        P *= d
        P += tmp2
        tmp *= self.hyper["lr"]
        self.p -= tmp

    def _adam(self):
        (M, N, _) = self.slots
        self._moments(M, N)
        self._adam_step(M, N)

    def _moments(self, M, N):
        """``M = b1 M + (1 - b1) g`` and ``N = b2 N + (1 - b2) g²``, in place."""
        tmp, b1, b2 = self.tmp, self.hyper["beta1"], self.hyper["beta2"]
        M *= b1
        np.multiply(self.g, 1.0 - b1, out=tmp)
        M += tmp
        np.multiply(self.g, self.g, out=tmp)
        tmp *= 1.0 - b2
        N *= b2
        N += tmp

    def _adam_step(self, M, N):
        """``p -= lr / c1 * M / (sqrt(N / c2) + eps)`` (Adam's, AdamW's, AMSGrad's step)."""
        tmp, b1, b2 = self.tmp, self.hyper["beta1"], self.hyper["beta2"]
        np.sqrt(N, out=tmp)
        tmp *= 1.0 / math.sqrt(1.0 - b2**self.t)
        tmp += self.hyper["eps"]
        np.divide(M, tmp, out=tmp)
        tmp *= self.hyper["lr"] / (1.0 - b1**self.t)
        self.p -= tmp

    def _adamw(self):  # the decay is applied before, in step()
        self._adam()

    def _amsgrad(self):
        M, N, V = self.slots
        self._moments(M, N)
        np.maximum(V, N, out=V)
        self._adam_step(M, V)

    def _nadam(self):
        (M, N, _), tmp, tmp2 = self.slots, self.tmp, self.tmp2
        h, t = self.hyper, self.t
        b1, lr, decay = h["beta1"], h["lr"], h["momentum_decay"]
        mu = b1 * (1.0 - 0.5 * 0.96 ** (t * decay))
        mu_next = b1 * (1.0 - 0.5 * 0.96 ** ((t + 1) * decay))
        self.mu_product *= mu
        P = self.mu_product
        self._moments(M, N)
        np.divide(N, 1.0 - h["beta2"] ** t, out=tmp)
        np.sqrt(tmp, out=tmp)
        tmp += h["eps"]
        np.multiply(self.g, lr * (1.0 - mu) / (1.0 - P), out=tmp2)
        tmp2 /= tmp
        self.p -= tmp2
        np.multiply(M, lr * mu_next / (1.0 - P * mu_next), out=tmp2)
        tmp2 /= tmp
        self.p -= tmp2

    def _nadamw(self):  # the decay is applied before, in step()
        self._nadam()

    def _radam(self):
        (M, N, _), tmp = self.slots, self.tmp
        h, t = self.hyper, self.t
        b2 = h["beta2"]
        self._moments(M, N)
        c2 = 1.0 - b2**t
        rho_inf = 2.0 / (1.0 - b2) - 1.0
        rho_t = rho_inf - 2.0 * t * b2**t / c2
        scale = h["lr"] / (1.0 - h["beta1"] ** t)
        if rho_t > 5.0:
            rect = math.sqrt(
                (rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t)
            )
            np.sqrt(N, out=tmp)
            tmp += h["eps"]
            np.divide(M, tmp, out=tmp)
            tmp *= scale * c2**0.5 * rect
        else:
            np.multiply(M, scale, out=tmp)
        self.p -= tmp

    def _adamax(self):
        (M, U, _), tmp = self.slots, self.tmp
        h = self.hyper
        b1 = h["beta1"]
        M *= b1
        np.multiply(self.g, 1.0 - b1, out=tmp)
        M += tmp
        U *= h["beta2"]
        np.abs(self.g, out=tmp)
        tmp += h["eps"]
        np.maximum(U, tmp, out=U)
        np.divide(M, U, out=tmp)
        tmp *= h["lr"] / (1.0 - b1**self.t)
        self.p -= tmp

    def _lion(self):
        (M, _, _), tmp, tmp2 = self.slots, self.tmp, self.tmp2
        h = self.hyper
        b1, b2 = h["beta1"], h["beta2"]
        np.multiply(M, b1, out=tmp)
        np.multiply(self.g, 1.0 - b1, out=tmp2)
        tmp += tmp2
        np.sign(tmp, out=tmp2)  # not out=tmp: NumPy 2.4's sign in place is ~9x slower
        tmp2 *= h["lr"]
        self.p -= tmp2
        M *= b2
        np.multiply(self.g, 1.0 - b2, out=tmp)
        M += tmp

    def evaluate(self, X: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
        """Accuracy and mean summed binary cross-entropy over all of ``X`` in one pass."""
        z1 = X @ self.W1.T
        z1 += self.b1
        self._sigmoid(z1, z1)
        z = z1 @ self.W2.T
        z += self.b2
        correct = np.count_nonzero(z.argmax(axis=1) == labels)
        # softplus(z) - y z, summed; y is one-hot, so subtract the label's logit once.
        cost = np.maximum(z, 0.0)
        soft = np.log1p(np.exp(-np.abs(z)))
        cost += soft
        total = cost.sum() - z[np.arange(len(labels)), labels].sum()
        return correct / len(labels), float(total) / len(labels)
