"""`data show` writes its figure; `bench data` measures cold, warm and naive on real files."""

import json
import subprocess
import sys

import pytest

from tests.data_helpers import cache_dir  # noqa: F401  (cache_dir: fixture)
from toolchain.data import synthesize

pytestmark = pytest.mark.usefixtures("cache_dir")


def test_data_show_writes_a_png_of_both_classes(tmp_path):
    data = synthesize(tmp_path / "s", 20, seed=6, progress=False)
    fig = tmp_path / "figs" / "examples.png"
    out = subprocess.run([sys.executable, "-m", "toolchain", "data", "show", str(data), "--out",
                          str(fig), "--n", "3", "--json"], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert len(result["up-call (label 1)"]) == 3 and len(result["no up-call (label 0)"]) == 3
    assert fig.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and fig.stat().st_size > 10_000
    assert [p.name for p in fig.parent.iterdir()] == ["examples.png"]


def test_bench_data_measures_cold_warm_and_naive_on_the_same_clips(tmp_path):
    from toolchain.bench.data import bench_data

    r = bench_data(60, naive_clips=8, progress=False)
    assert r["clips"] == 60 and r["feature_shape"] == [105, 135]
    assert r["cold"]["cache_hit"] is False and r["warm"]["cache_hit"] is True
    assert r["naive"]["clips_measured"] == 8 and r["naive"]["max_abs_diff"] < 1e-4
    assert r["ratios"]["naive_over_warm"] > 0 and r["naive"]["total_s"] > 0
    again = subprocess.run([sys.executable, "-m", "toolchain", "bench", "data", "--clips", "60",
                            "--naive-clips", "5", "--out", str(tmp_path / "b"), "--json"],
                           capture_output=True, text=True)
    assert again.returncode == 0, again.stderr
    written = json.loads((tmp_path / "b" / "bench-data.json").read_text())
    assert "synth_s" in written and written["warm"]["cache_hit"] is True
