"""Figure helpers render to PNG without a display."""

import numpy as np
import pytest

from spikereduce import plot


def test_all_helpers_write_pngs(tmp_path):
    rng = np.random.default_rng(0)
    t = np.linspace(0, 1, 200)
    figs = {
        "raster": plot.raster(rng.random(1000), rng.integers(0, 100, 1000),
                              groups={"E": (0, 75), "I": (75, 100)}, time_units="ms"),
        "rates": plot.rate_traces({"micro": (t, np.sin(t)), "macro": (t, np.cos(t))}),
        "density": plot.density_heatmap(t, np.linspace(-4, 2, 60), rng.random((200, 60))),
        "loglog": plot.loglog_distribution((np.arange(1, 50), np.arange(1, 50) ** -1.5),
                                           (np.arange(1, 50), np.arange(1, 50) ** -1.5),
                                           guide_exponent=1.5),
    }
    fig, ax = plot.new_figure()
    plot.shade_spans(ax, t, t > 0.5, label="micro")
    figs["spans"] = fig
    for name, f in figs.items():
        path = plot.save_png(f, tmp_path / f"{name}.png")
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_density_shape_checked():
    with pytest.raises(ValueError, match="shape"):
        plot.density_heatmap(np.arange(3), np.arange(4), np.zeros((4, 3)))
