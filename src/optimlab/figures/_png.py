"""A figure written atomically as a PNG file (a reader never sees half of one)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from .._files import atomic_write


def save_png(fig: Any, path: str | os.PathLike[str], dpi: int) -> Path:
    """Write the :class:`matplotlib.figure.Figure` ``fig`` to ``path`` at ``dpi`` dots
    per inch. A ``Figure`` made without ``pyplot`` saves through matplotlib's Agg canvas:
    no display and no global state."""
    path = Path(path)
    with atomic_write(path, "wb") as f:
        fig.savefig(f, format="png", dpi=dpi)
    return path
