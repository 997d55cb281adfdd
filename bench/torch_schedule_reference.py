"""The report's network trained by torch.optim alone: AdamW (lr 1e-3, weight decay
1e-2) under a warm-up + cosine LambdaLR, or at a constant rate, from optimlab's
initial weights (seed 0) with torch's own shuffles — an independent reference for
the figure ``optimlab train --optimizer adamw --schedule warmup_cosine:warmup=1``
reaches.

    python bench/torch_schedule_reference.py [--constant] [--epochs 5] [--seed 0]
"""

from __future__ import annotations

import argparse
import math

import numpy as np
import torch

import optimlab


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--constant", action="store_true", help="no schedule")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0, help="torch's shuffles")
    args = parser.parse_args()
    torch.manual_seed(args.seed)
    torch.set_num_threads(1)
    train, test = optimlab.load_mnist(device="cpu")
    X, Xt = (torch.from_numpy(np.asarray(d.images, dtype=np.float32)) for d in (train, test))
    Y, Yt = (torch.from_numpy(np.asarray(d.labels)).long() for d in (train, test))
    targets = torch.nn.functional.one_hot(Y, 10).float()
    model = optimlab.MLP([784, 30, 10], seed=0)
    params = [
        torch.tensor(np.array(p), dtype=torch.float32, requires_grad=True)
        for pair in zip(model.weights, model.biases)
        for p in pair
    ]
    batch = 10
    per_epoch = X.shape[0] // batch
    total, warmup = args.epochs * per_epoch, per_epoch

    def multiplier(t: int) -> float:
        if args.constant:
            return 1.0
        if t < warmup:
            return t / warmup
        return (1 + math.cos(math.pi * (t - warmup) / (total - warmup))) / 2

    def logits(x: torch.Tensor) -> torch.Tensor:
        W1, b1, W2, b2 = params
        return torch.sigmoid(x @ W1.T + b1) @ W2.T + b2

    opt = torch.optim.AdamW(params, lr=1e-3, weight_decay=1e-2)
    schedule = torch.optim.lr_scheduler.LambdaLR(opt, multiplier)
    for epoch in range(args.epochs):
        order = torch.randperm(X.shape[0])
        for s in range(per_epoch):
            rows = order[s * batch : (s + 1) * batch]
            # the report's cost: binary cross-entropy summed over outputs, batch mean
            loss = torch.nn.functional.binary_cross_entropy_with_logits(
                logits(X[rows]), targets[rows], reduction="sum"
            )
            opt.zero_grad()
            (loss / batch).backward()
            opt.step()
            schedule.step()
        with torch.no_grad():
            accuracy = (logits(Xt).argmax(1) == Yt).float().mean().item()
        print(f"epoch {epoch + 1}: test accuracy {100 * accuracy:.2f}%", flush=True)


if __name__ == "__main__":
    main()
