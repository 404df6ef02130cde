"""The runtime checks on tinyrepo, a fixture repository written unlike atft: one planted copy per bug and
a clean twin.

Each planted bug is one edit of a copy of ``fixtures/tinyrepo``; the named check must fail (or warn) with
a message naming the file, module or column, every other runtime check must not fail, and the clean twin
must pass every runtime check.

(a) tinyrepo/loss.py:     the loss looks for ``feat_ret_1d`` (no target matches), returns 0     -> HC042
(b) tinyrepo/settings.py: the config's target column ``fwd_ret_1d`` is not in the parquet       -> HC048
(c) tinyrepo/data.py:     the data carries a 5th feature, config and model say 4                 -> HC048
(d) .env:                 ``BYPASS_MIXER=1`` silences the graph stage                           -> HC044 (+ HC047 warns)
(e) tinyrepo/model.py:    the time-axis norm is fed ``x.mean(1)`` broadcast over time            -> HC043
(f) tinyrepo/data.py:     the Dataset keeps a lambda, it cannot be pickled for workers           -> HC049
(g) tinyrepo/data.py:     the sector join matches nothing, ``sector_beta`` is 100% null          -> HC050
and the INVALID cases of the other runtime checks:
(h) tinyrepo/model.py:    the mixer returns the mean over tickers (over-smoothing)             -> HC046
(i) tinyrepo/probe.py:    the optimiser's learning rate is 0                                   -> HC045
(j) tinyrepo/model.py:    the adaptive time norm is replaced by a plain ``nn.LayerNorm`` (d)    -> HC051
(k) tinyrepo/model.py:    the time norm divides by a std without epsilon: a feature constant
                          over the window (``sector_beta``) gives 0/0 = NaN                    -> HC041
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest

from health_checks.cli import main

FIXTURE = Path(__file__).parent / "fixtures" / "tinyrepo"
RUNTIME = "HC040,HC041,HC042,HC044,HC045,HC046,HC043,HC047,HC048,HC049,HC050,HC051"

# name: (file, text to replace, replacement, check that must fail, status, words its message must contain)
PLANTS: dict[str, tuple[str, str, str, str, str, tuple[str, ...]]] = {
    "a_loss_keys": (
        "tinyrepo/loss.py",
        'targets.get(f"ret_{key}")',
        'targets.get(f"feat_ret_{key}")',
        "HC042",
        "fail",
        ("tinyrepo.loss.forecast_loss", "tinyrepo/loss.py", "same constant 0", "ret_1d"),
    ),
    "b_config_column": (
        "tinyrepo/settings.py",
        'target_columns: tuple[str, ...] = ("ret_1d", "ret_5d")',
        'target_columns: tuple[str, ...] = ("fwd_ret_1d", "ret_5d")',
        "HC048",
        "fail",
        ("fwd_ret_1d", "artifacts/table.parquet"),
    ),
    "c_feature_count": (
        "tinyrepo/data.py",
        'FEATURES = ("f_mom", "f_rev", "f_vol", "sector_beta")',
        'FEATURES = ("f_mom", "f_rev", "f_vol", "sector_beta", "day")',
        "HC048",
        "fail",
        ("model input width 4", "batch feature dimension 5", "config feature count 4"),
    ),
    "d_env_bypass": (
        ".env",
        "TINYREPO_LOG_LEVEL=info\n",
        "TINYREPO_LOG_LEVEL=info\nBYPASS_MIXER=1\n",
        "HC044",
        "fail",
        ("mixer.query", "mixer.value"),
    ),
    "e_constant_norm_input": (
        "tinyrepo/model.py",
        "z = self.norm(x)",
        "z = self.norm(x.mean(dim=1).unsqueeze(1).expand(-1, x.shape[1], -1))",
        "HC043",
        "fail",
        ("`norm`", "AdaptiveTimeNorm", "axis [1]"),
    ),
    "f_unpicklable_dataset": (
        "tinyrepo/data.py",
        "        self.lookback = lookback\n",
        "        self.lookback = lookback\n        self.to_tensor = lambda a: torch.from_numpy(a)\n",
        "HC049",
        "fail",
        ("tinyrepo.data.PanelDataset", "pickle"),
    ),
    "g_join_matches_nothing": (
        "tinyrepo/data.py",
        '"ticker": names, "sector_beta"',
        '"ticker": [n.lower() for n in names], "sector_beta"',
        "HC050",
        "fail",
        ("sector_beta", "100% null", "artifacts/table.parquet"),
    ),
    "h_oversmoothing_mixer": (
        "tinyrepo/model.py",
        "return h + weights @ self.value(h)",
        "return (weights @ self.value(h)).mean(dim=0, keepdim=True).expand_as(h)",
        "HC046",
        "fail",
        ("`mixer`", "TickerMixer"),
    ),
    "i_zero_learning_rate": (
        "tinyrepo/probe.py",
        "partial(torch.optim.Adam, lr=1e-2)",
        "partial(torch.optim.Adam, lr=0.0)",
        "HC045",
        "fail",
        ("stayed the same", "encoder.weight"),
    ),
    "j_layernorm_replacement": (
        "tinyrepo/model.py",
        "self.norm = AdaptiveTimeNorm()",
        "self.norm = nn.LayerNorm(n_features)",
        "HC051",
        "fail",
        ("`norm`", "plain LayerNorm", "axis 1"),
    ),
    "k_nan_forward": (
        "tinyrepo/model.py",
        "std = x.std(dim=1, keepdim=True) + 1e-5",
        "std = x.std(dim=1, keepdim=True)",
        "HC041",
        "fail",
        ("TinyForecaster", "not finite", "1d in batch 0"),
    ),
}


def copy_tree(tmp_path: Path, name: str) -> Path:
    root = tmp_path / name
    shutil.copytree(
        FIXTURE, root, ignore=shutil.ignore_patterns("artifacts", "reports", "_logs", "__pycache__")
    )
    return root


def forget_other_copies() -> None:
    for module in [m for m in sys.modules if m == "tinyrepo" or m.startswith("tinyrepo.")]:
        del sys.modules[module]
    sys.path[:] = [p for p in sys.path if not (Path(p) / "tinyrepo" / "probe.py").is_file()]


def run_on(root: Path, only: str) -> tuple[int, dict[str, dict[str, Any]]]:
    """The checks ``only`` on ``root``: the exit code and the results by code. tinyrepo's modules and the
    other copies on sys.path are dropped first, so each copy imports its own (planted) code."""
    forget_other_copies()
    code = main(["--root", str(root), "--no-progress", "--only", only])
    (path,) = sorted((root / "_logs" / "health-checks").glob("*.json"))
    return code, {c["code"]: c for c in json.loads(path.read_text())["checks"]}


def run_runtime(root: Path) -> dict[str, dict[str, Any]]:
    """The runtime checks on ``root``, by code."""
    return run_on(root, RUNTIME)[1]


def test_clean_twin_passes_every_runtime_check(tmp_path: Path) -> None:
    results = run_runtime(copy_tree(tmp_path, "clean"))
    assert {code: r["status"] for code, r in results.items()} == dict.fromkeys(RUNTIME.split(","), "pass")
    assert results["HC047"]["details"]["set"][0]["name"] == "TINYREPO_LOG_LEVEL"
    assert results["HC044"]["details"]["groups"], "the report lists the grad-norm ratio per module"


@pytest.mark.parametrize("plant", sorted(PLANTS))
def test_each_planted_bug_fails_exactly_its_check(tmp_path: Path, plant: str) -> None:
    rel, old, new, code, status, words = PLANTS[plant]
    root = copy_tree(tmp_path, plant)
    text = (root / rel).read_text()
    assert text.count(old) == 1, f"the plant {plant} no longer matches {rel}"
    (root / rel).write_text(text.replace(old, new))
    results = run_runtime(root)
    assert results[code]["status"] == status, results[code]["message"]
    for word in words:
        assert word in results[code]["message"], (word, results[code]["message"])
    failed = {c for c, r in results.items() if r["status"] == "fail"}
    assert failed == {code}, {c: results[c]["message"] for c in failed}
    warned = {c for c, r in results.items() if r["status"] == "warn"}
    assert warned == ({"HC047"} if plant == "d_env_bypass" else set())
    if plant == "d_env_bypass":
        assert "BYPASS_MIXER=1" in results["HC047"]["message"]
        assert "tinyrepo/settings.py" in results["HC047"]["message"]


def test_no_probe_is_a_failure_not_a_skip(tmp_path: Path) -> None:
    root = copy_tree(tmp_path, "noprobe")
    pyproject = root / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('probe = "tinyrepo.probe:probe"\n', ""))
    code, results = run_on(root, "HC040,HC041")
    assert code == 2
    assert results["HC040"]["status"] == "fail"
    assert "no probe is configured" in results["HC040"]["message"]
    assert results["HC041"]["status"] == "skip"  # blocked by the failed HC040, which already counts


def test_a_disabled_check_is_skipped_and_says_so(tmp_path: Path) -> None:
    root = copy_tree(tmp_path, "disabled")
    pyproject = root / "pyproject.toml"
    pyproject.write_text(
        pyproject.read_text().replace(
            "[tool.health_checks]\n", '[tool.health_checks]\ndisable = ["dataset-workers"]\n'
        )
    )
    code, results = run_on(root, "HC040,HC049")
    assert code == 0
    assert results["HC049"]["status"] == "skip"
    assert "disable" in results["HC049"]["message"]
