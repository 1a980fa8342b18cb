"""Config layering (defaults <- YAML <- options), unknown keys with suggestions, hashes."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel, ConfigDict

from finsta_cli.config import StageConfig, load_config, parse_sets
from finsta_cli.errors import ConfigError, ExitCode


class Matcher(BaseModel):
    model_config = ConfigDict(extra="forbid")
    top_k: int = 3
    threshold: float = 0.5


class DemoConfig(StageConfig):
    SECTION = "build_dsg"
    RUNTIME_FIELDS = frozenset({"batch_size"})
    frames: int = 16
    conf: float = 0.25
    batch_size: int = 8
    matcher: Matcher = Matcher()


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_three_layers(tmp_path: Path) -> None:
    assert load_config(DemoConfig) == DemoConfig()
    path = write(tmp_path, "frames: 32\nconf: 0.5\nmatcher:\n  top-k: 5\n")
    from_file = load_config(DemoConfig, path)
    assert (from_file.frames, from_file.conf, from_file.matcher.top_k) == (32, 0.5, 5)
    both = load_config(DemoConfig, path, {"frames": 8, "conf": None, "matcher.threshold": 0.9})
    assert (both.frames, both.conf, both.matcher.top_k, both.matcher.threshold) == (8, 0.5, 5, 0.9)


def test_shared_file_with_sections(tmp_path: Path) -> None:
    path = write(tmp_path, "parse_text:\n  batch_size: 1000\nbuild-dsg:\n  frames: 4\n")
    assert load_config(DemoConfig, path).frames == 4


@pytest.mark.parametrize(
    "text, overrides, message",
    [
        ("frame: 3\n", {}, "config.yaml: unknown key 'frame' (did you mean 'frames'?)"),
        ("matcher:\n  topk: 2\n", {}, "unknown key 'matcher.topk' (did you mean 'matcher.top_k'?)"),
        (
            "",
            {"batchsize": 2},
            "command line: unknown key 'batchsize' (did you mean 'batch_size'?)",
        ),
        ("zzz: 1\n", {}, "config.yaml: unknown key 'zzz'"),
    ],
)
def test_unknown_keys_name_the_nearest_valid_one(
    tmp_path: Path, text: str, overrides: dict[str, int], message: str
) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(DemoConfig, write(tmp_path, text), overrides)
    assert info.value.message.endswith(message)
    assert info.value.exit_code == ExitCode.USAGE
    assert info.value.hint is not None and info.value.hint.startswith("valid keys: ")


def test_bad_values_and_bad_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"frames: .*integer.*'many'"):
        load_config(DemoConfig, write(tmp_path, "frames: many\n"))
    with pytest.raises(ConfigError, match="not valid YAML at line 2"):
        load_config(DemoConfig, write(tmp_path, "frames: 1\n  bad: [\n"))
    with pytest.raises(ConfigError, match="expected a mapping"):
        load_config(DemoConfig, write(tmp_path, "- 1\n- 2\n"))
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(DemoConfig, tmp_path / "missing.yaml")


def test_output_hash_ignores_runtime_fields_and_yaml_round_trips(tmp_path: Path) -> None:
    base = DemoConfig()
    assert base.output_hash() == DemoConfig(batch_size=64).output_hash()
    assert base.output_hash() != DemoConfig(frames=8).output_hash()
    custom = DemoConfig(frames=4, matcher=Matcher(top_k=1))
    assert load_config(DemoConfig, write(tmp_path, custom.to_yaml())) == custom


class Before(StageConfig):
    frames: int = 16


class After(Before):
    LATER_FIELDS = frozenset({"negatives"})
    negatives: int = 0


def test_later_fields_at_their_defaults_match_what_was_written_before_them() -> None:
    old_hash, old_dump = Before(frames=8).output_hash(), Before(frames=8).model_dump(mode="json")
    same, other = After(frames=8), After(frames=8, negatives=2)
    assert old_hash in same.matching_output_hashes() and same.matches_dump(old_dump)
    assert same.output_hash() in same.matching_output_hashes()
    assert old_hash not in other.matching_output_hashes() and not other.matches_dump(old_dump)
    assert not After(frames=4).matches_dump(old_dump)


class Later(After):
    LATER_FIELDS = frozenset({"negatives", "weight"})
    weight: float = 0.0


def test_a_file_written_between_two_later_fields_matches() -> None:
    between = After(frames=8, negatives=2).output_hash()  # had "negatives", not yet "weight"
    assert between in Later(frames=8, negatives=2).matching_output_hashes()
    assert Before(frames=8).output_hash() in Later(frames=8).matching_output_hashes()
    assert between not in Later(frames=8, negatives=2, weight=1.0).matching_output_hashes()
    assert between not in Later(frames=8, negatives=3).matching_output_hashes()


def test_set_sits_between_the_file_and_the_options(tmp_path: Path) -> None:
    path = write(tmp_path, "frames: 32\nconf: 0.5\n")
    sets = ["conf=0.75", "matcher.top_k=7", "batch-size=4"]
    resolved = load_config(DemoConfig, path, {"frames": None}, sets)
    assert (resolved.frames, resolved.conf, resolved.matcher.top_k, resolved.batch_size) == (
        32, 0.75, 7, 4,
    )  # fmt: skip
    assert load_config(DemoConfig, path, {"conf": 0.1}, ["conf=0.75"]).conf == 0.1


def test_set_values_are_yaml() -> None:
    assert parse_sets(["a=5", "b=true", "c=null", "d=[val, test]", "e=x=y", "f="]) == {
        "a": 5, "b": True, "c": None, "d": ["val", "test"], "e": "x=y", "f": None,
    }  # fmt: skip


@pytest.mark.parametrize("item", ["frames", "=3", "conf=[1"])
def test_a_malformed_set_is_a_config_error(item: str) -> None:
    with pytest.raises(ConfigError, match="--set"):
        load_config(DemoConfig, sets=[item])


def test_set_refuses_an_unknown_key_with_the_near_name() -> None:
    with pytest.raises(ConfigError, match=r"--set: unknown key 'matcher.top_kk'.*'matcher.top_k'"):
        load_config(DemoConfig, sets=["matcher.top_kk=2"])
