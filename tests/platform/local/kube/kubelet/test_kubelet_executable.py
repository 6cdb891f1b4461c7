"""The runtime's lookup of a container's command: runc's words when the executable is not there."""

from __future__ import annotations

from pathlib import Path

from drillbook.platform.local.kube.kubelet.executable import start_error


def _tool(directory: Path, name: str, mode: int = 0o755) -> Path:
    path = directory / name
    path.write_text("#!/bin/sh\n")
    path.chmod(mode)
    return path


def test_a_command_found_on_the_containers_path_starts(tmp_path: Path) -> None:
    _tool(tmp_path, "api-server")
    assert start_error(["api-server", "--port", "80"], {"PATH": f"/nonexistent:{tmp_path}"}, None) is None


def test_a_command_missing_from_the_path_is_named_as_runc_names_it(tmp_path: Path) -> None:
    message = start_error(["api-server"], {"PATH": str(tmp_path)}, None)
    assert message is not None
    assert message.startswith("failed to create containerd task: failed to create shim task: OCI runtime create")
    assert message.endswith('exec: "api-server": executable file not found in $PATH: unknown')


def test_a_file_without_the_execute_bit_is_not_a_command(tmp_path: Path) -> None:
    _tool(tmp_path, "api-server", mode=0o644)
    assert start_error(["api-server"], {"PATH": str(tmp_path)}, None) is not None
    message = start_error([str(tmp_path / "api-server")], {}, None)
    assert message is not None
    assert message.endswith(f'exec: "{tmp_path}/api-server": permission denied: unknown')


def test_an_absolute_or_relative_path_is_checked_where_it_points(tmp_path: Path) -> None:
    _tool(tmp_path, "run.sh")
    assert start_error([str(tmp_path / "run.sh")], {}, None) is None
    assert start_error(["./run.sh"], {}, str(tmp_path)) is None
    message = start_error(["./gone.sh"], {}, str(tmp_path))
    assert message is not None
    assert f"stat {tmp_path}/gone.sh: no such file or directory" in message


def test_a_directory_or_an_empty_command_cannot_start(tmp_path: Path) -> None:
    assert "is a directory" in (start_error([str(tmp_path)], {}, None) or "")
    assert "no command specified" in (start_error([], {}, None) or "")
