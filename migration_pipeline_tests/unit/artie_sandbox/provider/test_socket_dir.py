"""The provider's socket lands where grpc can listen on it, whatever TMPDIR is, or it says why not."""

from __future__ import annotations

import pytest

from artie_sandbox.provider.__main__ import MAX_SOCKET_PATH, SOCKET_TAIL, socket_temp_dir


def test_a_temp_folder_short_enough_for_the_socket_is_kept(tmp_path):
    deepest = "/t" + "x" * (MAX_SOCKET_PATH - SOCKET_TAIL - 2)
    assert socket_temp_dir(deepest, fallback=str(tmp_path)) == deepest
    assert socket_temp_dir("/tmp") == "/tmp"


def test_a_temp_folder_too_deep_for_the_socket_falls_back_to_tmp():
    too_deep = "/t" + "x" * (MAX_SOCKET_PATH - SOCKET_TAIL - 1)
    assert socket_temp_dir(too_deep) == "/tmp"


def test_with_no_usable_fallback_the_provider_says_to_shorten_tmpdir():
    too_deep = "/t" + "x" * (MAX_SOCKET_PATH - SOCKET_TAIL - 1)
    with pytest.raises(SystemExit) as stopped:
        socket_temp_dir(too_deep, fallback=too_deep)
    assert str(stopped.value) == (
        f"artie provider: the temporary folder {too_deep} is too deep for the provider's socket "
        f"(at most {MAX_SOCKET_PATH - SOCKET_TAIL} characters) and {too_deep} is not writable: "
        "set TMPDIR to a shorter folder"
    )
