"""Metric modules kept in the project so that `evaluate.load(path)` works offline."""

from pathlib import Path


def metric_path(name: str) -> str:
    """Directory of a local `evaluate` metric module (loaded with evaluate.load(path))."""
    path = Path(__file__).parent / name
    if not (path / f"{name}.py").is_file():
        raise FileNotFoundError(f"no local metric module {name!r} in {Path(__file__).parent}")
    return str(path)
