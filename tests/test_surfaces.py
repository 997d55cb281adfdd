"""DeepOBS's 2-D functions: values, analytic gradients, start points, noise model."""

from __future__ import annotations

import math

import numpy as np
import pytest

from optimlab import ConfigError
from optimlab.backend import to_numpy
from optimlab.problems import surfaces

#: Points around each function's start and minima, where the gradient is checked.
POINTS = {
    "rosenbrock": [(-0.5, 1.5), (1.0, 1.0), (0.3, -0.7), (-1.2, 0.4)],
    "beale": [(-4.5, 4.5), (3.0, 0.5), (1.1, -1.3), (-0.4, 0.2)],
    "branin": [(2.5, 12.5), (-math.pi, 12.275), (7.0, 3.0), (0.5, 0.5)],
}


@pytest.mark.parametrize("name", sorted(surfaces.SURFACES))
def test_gradient_matches_central_differences(backend, name):
    surface = surfaces.get(name)
    xp, device = backend
    for u, v in POINTS[name]:
        w = xp.asarray([u, v], dtype=xp.float64, device=device)
        grad = to_numpy(surface.gradient(w))
        h = 1e-6 * max(1.0, abs(u), abs(v))
        numeric = []
        for axis in range(2):
            step = xp.asarray([h * (axis == 0), h * (axis == 1)], dtype=xp.float64, device=device)
            up, down = surface.value(w + step), surface.value(w - step)
            numeric.append((float(to_numpy(up)) - float(to_numpy(down))) / (2 * h))
        np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-6 * (1 + np.abs(grad).max()))


def test_values_are_deepobs_formulas_at_known_points():
    rosenbrock, beale, branin = (surfaces.get(n) for n in ("rosenbrock", "beale", "branin"))
    assert float(rosenbrock.value(np.array([-0.5, 1.5]))) == 1.5**2 + 100 * 1.25**2
    assert float(beale.value(np.array([3.0, 0.5]))) == 0.0
    for minimum in branin.minima:  # 10 / (8 pi) at each of the three minima
        assert float(branin.value(np.array(minimum))) == pytest.approx(0.397887, abs=1e-5)
        np.testing.assert_allclose(branin.gradient(np.array(minimum)), 0.0, atol=0.05)
    for surface in (rosenbrock, beale):
        np.testing.assert_array_equal(surface.gradient(np.array(surface.minima[0])), 0.0)


def test_start_points_and_names_are_deepobs():
    assert {n: s.start for n, s in surfaces.SURFACES.items()} == {
        "rosenbrock": (-0.5, 1.5),
        "beale": (-4.5, 4.5),
        "branin": (2.5, 12.5),
    }
    assert surfaces.get("two_d_beale") is surfaces.get("Beale") is surfaces.SURFACES["beale"]


def test_value_and_gradient_keep_a_grid_shape():
    grid = np.stack(np.meshgrid(np.linspace(-1, 1, 4), np.linspace(0, 2, 3)), axis=-1)
    surface = surfaces.get("branin")
    assert surface.value(grid).shape == (3, 4)
    assert surface.gradient(grid).shape == (3, 4, 2)


def _one_sentence(error: pytest.ExceptionInfo) -> str:
    message = str(error.value)
    assert "\n" not in message and message.count(". ") == 0, message
    return message


def test_an_unknown_surface_is_one_sentence():
    with pytest.raises(ConfigError) as error:
        surfaces.get("himmelblau")
    assert _one_sentence(error) == (
        "unknown 2-D problem 'himmelblau'; choose from rosenbrock, beale, branin"
    )


def test_bad_noise_is_one_sentence():
    rosenbrock = surfaces.get("rosenbrock")
    assert surfaces.check_noise(rosenbrock, 0) == 0.0
    for bad in (-1.0, float("nan"), float("inf"), "loud"):
        with pytest.raises(ConfigError, match="--noise takes") as error:
            surfaces.check_noise(rosenbrock, bad)
        _one_sentence(error)
    exact = surfaces.Surface(
        **{**rosenbrock.__dict__, "name": "exact", "noisy": False}  # a surface without noise
    )
    assert surfaces.check_noise(exact, 0.0) == 0.0
    with pytest.raises(ConfigError) as error:
        surfaces.check_noise(exact, 0.5)
    assert _one_sentence(error) == "--noise does not apply to exact: it has no noise model"


def test_every_optimizer_has_a_default_rate_on_every_surface():
    from optimlab import optimizers

    for surface in surfaces.SURFACES.values():
        for name in optimizers.OPTIMIZERS:
            rate = surface.learning_rate(name)
            assert rate is None if name == "prodigy" else rate > 0
