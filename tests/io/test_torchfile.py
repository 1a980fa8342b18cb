"""Tests of finsta_cli/io/torchfile.py: weights_only loads, clean refusals, scoped allow-lists."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest
import torch

from finsta_cli.errors import ExitCode, InputError
from finsta_cli.io.torchfile import (
    RefusedFileError,
    load_torch_file,
    only_allowed_globals,
    refused_global,
    torch_error_reason,
)
from tests.pickles import Touch


class Point:
    """A harmless class: weights_only refuses it unless it is allowed."""

    def __init__(self, x: int) -> None:
        self.x = x


def test_plain_tensors_load(tmp_path: Path) -> None:
    path = tmp_path / "plain.pt"
    torch.save({"w": torch.arange(3), "n": 2, "name": "x"}, path)
    payload = load_torch_file(path, unreadable="not a readable test file")
    assert torch.equal(payload["w"], torch.arange(3)) and payload["n"] == 2


def test_code_is_refused_in_one_clean_line_and_never_runs(tmp_path: Path) -> None:
    marker = tmp_path / "MARKER"
    path = tmp_path / "evil.pt"
    torch.save({"w": torch.zeros(2), "payload": Touch(marker)}, path)
    with pytest.raises(RefusedFileError) as info:
        load_torch_file(path, unreadable="not a readable test file")
    message = info.value.message
    assert message == (
        f"{path}: refused: the file carries pickled objects, not plain tensors (posix.system)"
    )
    assert info.value.offending == "posix.system"
    assert info.value.exit_code == ExitCode.FATAL
    assert "\n" not in message and "\x1b" not in message
    assert "weights_only" not in str(info.value)  # no advice to load it unsafely
    assert not marker.exists()


@pytest.mark.filterwarnings("ignore:Detected pickle protocol 4")
def test_a_raw_pickle_is_refused_and_never_runs(tmp_path: Path) -> None:
    marker = tmp_path / "MARKER"
    path = tmp_path / "raw.pt"  # pickle.dumps, not torch.save: torch's legacy reader
    path.write_bytes(pickle.dumps(Touch(marker), protocol=2))
    with pytest.raises(InputError, match=r"raw\.pt: refused: .*\(posix\.system\)"):
        load_torch_file(path, unreadable="not a readable test file")
    path.write_bytes(pickle.dumps(Touch(marker), protocol=4))
    with pytest.raises(InputError, match=r"raw\.pt: ") as info:
        load_torch_file(path, unreadable="not a readable test file")
    assert "\x1b" not in info.value.message and "weights_only" not in info.value.message
    assert not marker.exists()


def test_damaged_and_missing_files_say_so(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"not a torch file at all")
    with pytest.raises(InputError, match=r"garbage\.pt: not a readable test file \(.+\)"):
        load_torch_file(garbage, unreadable="not a readable test file")
    whole = tmp_path / "whole.pt"
    torch.save({"w": torch.zeros(100)}, whole)
    cut = tmp_path / "cut.pt"
    cut.write_bytes(whole.read_bytes()[:300])
    with pytest.raises(InputError, match=r"cut\.pt: not a readable test file") as info:
        load_torch_file(cut, unreadable="not a readable test file")
    assert not isinstance(info.value, RefusedFileError)
    with pytest.raises(InputError, match=r"absent\.pt: not a readable test file \(no such"):
        load_torch_file(tmp_path / "absent.pt", unreadable="not a readable test file")


def test_a_text_file_is_said_to_be_text(tmp_path: Path) -> None:
    # torch's own reason for a text file is the first byte it cannot read ("101" for "e")
    for name, text in [("notes.pt", "hello\n"), ("pointer.pt", "version https://git-lfs\n")]:
        path = tmp_path / name
        path.write_text(text)
        with pytest.raises(InputError) as info:
            load_torch_file(path, unreadable="not a readable weights file")
        assert info.value.message == (
            f"{path}: not a readable weights file (not a torch.save file: it starts with text)"
        )
    binary = tmp_path / "image.pt"
    binary.write_bytes(b"\xff\xd8\xff\xe0 a JPEG header")
    with pytest.raises(InputError) as info:
        load_torch_file(binary, unreadable="not a readable weights file")
    assert "starts with text" not in info.value.message


def test_allowed_globals_hold_for_one_load_only(tmp_path: Path) -> None:
    path = tmp_path / "point.pt"
    torch.save({"p": Point(3)}, path)
    before = torch.serialization.get_safe_globals()
    payload = load_torch_file(path, unreadable="unreadable", allowed=[Point])
    assert payload["p"].x == 3
    assert set(torch.serialization.get_safe_globals()) == set(before)
    with only_allowed_globals([Point]):
        assert torch.load(path, weights_only=True)["p"].x == 3
    assert set(torch.serialization.get_safe_globals()) == set(before)
    with pytest.raises(RefusedFileError, match=r"\(tests\.io\.test_torchfile\.Point\)"):
        load_torch_file(path, unreadable="unreadable")


def test_a_globally_registered_class_does_not_widen_finsta_loads(tmp_path: Path) -> None:
    path = tmp_path / "point.pt"
    torch.save({"p": Point(3)}, path)
    torch.serialization.add_safe_globals([Point])  # as a library's restricted loader does
    try:
        with pytest.raises(RefusedFileError):
            load_torch_file(path, unreadable="unreadable")
        assert Point in torch.serialization.get_safe_globals()  # restored afterwards
    finally:
        kept = [g for g in torch.serialization.get_safe_globals() if g is not Point]
        torch.serialization.clear_safe_globals()
        torch.serialization.add_safe_globals(kept)


def test_torch_error_reason_drops_the_advice_and_ansi_codes(tmp_path: Path) -> None:
    path = tmp_path / "point.pt"
    torch.save({"p": Point(3)}, path)
    with pytest.raises(pickle.UnpicklingError) as info:
        torch.load(path, weights_only=True)
    raw = str(info.value)
    assert "\x1b[" in raw and "weights_only` set to `False`" in raw  # what torch says
    assert refused_global(info.value) == "tests.io.test_torchfile.Point"
    assert torch_error_reason(info.value) == "tests.io.test_torchfile.Point is not allowed"
    operand = pickle.UnpicklingError(
        "Weights only load failed. In PyTorch 2.6, we changed the default value of the "
        "`weights_only` argument in `torch.load` from `False` to `True`. Re-running it.\n"
        "Please file an issue with the following so that we can make `weights_only=True` "
        "compatible with your use case: WeightsUnpickler error: \n\nUnsupported operand 149\n\n"
        "Check the documentation of torch.load to learn more about types accepted by default"
    )
    assert torch_error_reason(operand) == "Unsupported operand 149"
    assert torch_error_reason(RuntimeError("")) == "RuntimeError"
