"""The fixer benchmark's cold runs are cold on both sides: ours and ruff's own cache are dropped."""

from pathlib import Path

from benchmarks.fixer import _drop_caches


def test_drop_caches_removes_ours_and_ruffs_at_any_depth(tmp_path: Path) -> None:
    kept = tmp_path / "pkg" / "module.py"
    kept.parent.mkdir()
    kept.write_text("x = 1\n")
    caches = [
        tmp_path / ".maintenance_cache",
        tmp_path / ".ruff_cache",
        tmp_path / "pkg" / ".maintenance_cache",  # a corpus with its own pyproject.toml keeps its cache here
        tmp_path / "pkg" / ".ruff_cache",
    ]
    for cache in caches:
        (cache / "0.1").mkdir(parents=True)
        (cache / "0.1" / "entry").write_text("cached")
    _drop_caches(tmp_path)
    assert [cache for cache in caches if cache.exists()] == []
    assert kept.read_text() == "x = 1\n"
