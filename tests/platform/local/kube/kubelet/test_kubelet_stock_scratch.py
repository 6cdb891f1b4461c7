"""The stock postgres image's data lives outside the pod's dir (``$TMPDIR/localkube-pg-<hash>``) and goes with it."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

from drillbook.platform.local.kube.kubelet import stock, stock_entry


def test_the_kubelet_names_a_containers_postgres_data_dir_as_the_image_entrypoint_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "pods" / "default_db_1" / "db" / "home"
    home.mkdir(parents=True)
    monkeypatch.chdir(home)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "t"))
    assert stock_entry.scratch() == stock.scratch_dir(home, {"TMPDIR": str(tmp_path / "t")})
    assert stock.scratch_dir(home).parent == Path("/tmp")  # a pod sets no TMPDIR: the container's /tmp


def test_removing_a_pods_postgres_data_touches_nothing_else(tmp_path: Path) -> None:
    env = {"TMPDIR": str(tmp_path)}
    mine, other = tmp_path / "pods" / "a" / "db" / "home", tmp_path / "pods" / "b" / "db" / "home"
    for home in (mine, other):
        (stock.scratch_dir(home, env) / "data").mkdir(parents=True)

    assert stock.remove_scratch([mine], env) == [stock.scratch_dir(mine, env)]

    assert not stock.scratch_dir(mine, env).exists()
    assert stock.scratch_dir(other, env).is_dir()
    assert stock.remove_scratch([mine], env) == []


def test_cleanup_finds_the_postgres_data_of_every_container_a_killed_localkube_knew(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "t"))
    state = tmp_path / "drillbook-shop-x" / "kube"
    homes = [state / "kubelet" / "pods" / f"default_db-{n}_uid{n}" / "postgres" / "home" for n in (1, 2)]
    env = {"TMPDIR": str(tmp_path / "t")}
    for home in homes:
        home.mkdir(parents=True)
        (stock.scratch_dir(home, env) / "run").mkdir(parents=True)

    removed = stock.leftover_scratch(state.parent)

    assert sorted(removed) == sorted(stock.scratch_dir(h, env) for h in homes)
    assert not any(stock.scratch_dir(h, env).exists() for h in homes)
