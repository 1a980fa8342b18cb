"""Stage configuration: defaults <- YAML file (``--config``) <- ``--set KEY=VALUE`` <- command-line
options, validated."""

from __future__ import annotations

import difflib
import types
import typing
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from finsta_cli.errors import ConfigError
from finsta_cli.io.hashing import hash_json

ConfigT = TypeVar("ConfigT", bound="StageConfig")


class StageConfig(BaseModel):
    """Base of every stage's config model.

    Unknown keys are errors (with the nearest valid name), and so are NaN or infinite numbers
    (``--lr inf`` would train NaN weights). ``SECTION`` is the stage's key in a
    config file shared by several stages; ``RUNTIME_FIELDS`` names the fields that change how a
    stage runs but not what it writes (batch size, workers, device), which resume ignores.
    """

    model_config = ConfigDict(extra="forbid", validate_assignment=True, allow_inf_nan=False)

    SECTION: ClassVar[str] = ""
    RUNTIME_FIELDS: ClassVar[frozenset[str]] = frozenset()
    # Fields added after outputs were first written: at their defaults they change nothing, so
    # outputs written before they existed still match (resume, reuse).
    LATER_FIELDS: ClassVar[frozenset[str]] = frozenset()

    def output_hash(self) -> str:
        """Hash of the fields that decide the outputs (all but ``RUNTIME_FIELDS``)."""
        return hash_json(self.model_dump(mode="json", exclude=set(self.RUNTIME_FIELDS)))

    def matching_output_hashes(self) -> set[str]:
        """:meth:`output_hash`, and the hashes without any of the ``LATER_FIELDS`` that are at
        their defaults: what a version that lacked them wrote for the same settings (fields
        are added one release after another, so a file may lack some and have others)."""
        from itertools import combinations

        fields = type(self).model_fields
        absent = sorted(
            name for name in self.LATER_FIELDS if getattr(self, name) == fields[name].get_default()
        )
        dump = self.model_dump(mode="json", exclude=set(self.RUNTIME_FIELDS))
        hashes = {hash_json(dump)}
        for count in range(1, len(absent) + 1):
            for left_out in combinations(absent, count):
                hashes.add(hash_json({k: v for k, v in dump.items() if k not in left_out}))
        return hashes

    def matches_dump(self, dump: Mapping[str, Any]) -> bool:
        """Whether a written config (``model_dump(mode="json")``, e.g. a manifest's) has these
        settings, counting a missing later field as its default."""
        mine = self.model_dump(mode="json")
        if self._later_fields_at_default():
            missing = {name: mine[name] for name in self.LATER_FIELDS if name not in dump}
            dump = {**dump, **missing}
        return dict(dump) == mine

    def _later_fields_at_default(self) -> bool:
        fields = type(self).model_fields
        return all(getattr(self, name) == fields[name].get_default() for name in self.LATER_FIELDS)

    def to_yaml(self) -> str:
        """The resolved config as YAML, loadable again with ``--config``."""
        return yaml.safe_dump(self.model_dump(mode="json"), sort_keys=False, allow_unicode=True)


def _model_types(annotation: Any) -> list[type[BaseModel]]:
    """Pydantic model classes inside an annotation (``Model``, ``Model | None``, ...)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        return [m for arg in typing.get_args(annotation) for m in _model_types(arg)]
    return []


def _normalise_keys(data: Mapping[str, Any]) -> dict[str, Any]:
    # YAML files often spell options as on the command line: batch-size == batch_size.
    return {
        str(k).replace("-", "_"): _normalise_keys(v) if isinstance(v, Mapping) else v
        for k, v in data.items()
    }


def _check_keys(model: type[BaseModel], data: Mapping[str, Any], where: str, source: str) -> None:
    fields = model.model_fields
    for key, value in data.items():
        if key not in fields:
            near = difflib.get_close_matches(key, list(fields), n=1, cutoff=0.6)
            guess = f" (did you mean '{where}{near[0]}'?)" if near else ""
            raise ConfigError(
                f"{source}: unknown key '{where}{key}'{guess}",
                hint="valid keys: " + ", ".join(where + name for name in fields),
            )
        nested = _model_types(fields[key].annotation)
        if nested and isinstance(value, Mapping):
            _check_keys(nested[0], value, f"{where}{key}.", source)


def _merge(base: dict[str, Any], update: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in update.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = _merge(dict(merged[key]), value)
        else:
            merged[key] = value
    return merged


def read_config_file(path: Path, section: str = "") -> dict[str, Any]:
    """Read a YAML config file: either this stage's keys, or a ``section:`` among others."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read config file ({exc.strerror})") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"{path}: not valid YAML{where}") from None
    if data is None:
        return {}
    if not isinstance(data, Mapping):
        raise ConfigError(f"{path}: expected a mapping of option: value, got {type(data).__name__}")
    data = _normalise_keys(data)
    if section and isinstance(data.get(section), Mapping):
        return dict(data[section])
    return data


def _nest(flat: Mapping[str, Any]) -> dict[str, Any]:
    """Dotted keys (``"matcher.top_k"``) as nested mappings; ``-`` read as ``_``."""
    nested: dict[str, Any] = {}
    for key, value in flat.items():
        node = nested
        *parents, leaf = key.replace("-", "_").split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return nested


def parse_sets(items: Sequence[str]) -> dict[str, Any]:
    """``--set KEY=VALUE`` items as a flat mapping of dotted key -> value read as YAML
    (``5`` an int, ``true`` a bool, ``null`` None, ``[val, test]`` a list)."""
    parsed: dict[str, Any] = {}
    for item in items:
        key, sep, text = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--set {item!r}: expected KEY=VALUE (e.g. --set steps=100)")
        try:
            parsed[key.strip()] = yaml.safe_load(text)
        except yaml.YAMLError:
            raise ConfigError(f"--set {item!r}: the value is not valid YAML") from None
    return parsed


def load_config(
    model: type[ConfigT],
    config_file: Path | None = None,
    overrides: Mapping[str, Any] | None = None,
    sets: Sequence[str] = (),
) -> ConfigT:
    """Resolve a stage config: the model's defaults, then ``config_file``, then ``sets``
    (``--set KEY=VALUE``), then ``overrides``.

    ``overrides`` are command-line options; a ``None`` value means "not given" and is dropped
    (``--set key=null`` does set None). Dotted keys (``"matcher.top_k"``) reach nested sections.
    """
    layers: list[tuple[str, dict[str, Any]]] = []
    if config_file is not None:
        layers.append((str(config_file), read_config_file(config_file, model.SECTION)))
    if sets:
        layers.append(("--set", _nest(parse_sets(sets))))
    given = {key: value for key, value in (overrides or {}).items() if value is not None}
    layers.append(("command line", _nest(given)))
    merged: dict[str, Any] = {}
    for source, data in layers:
        _check_keys(model, data, "", source)
        merged = _merge(merged, data)
    try:
        return model.model_validate(merged)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            key = ".".join(str(p) for p in error["loc"])
            problems.append(f"{key}: {error['msg']} (got {error.get('input')!r})")
        source = str(config_file) if config_file is not None else "options"
        raise ConfigError(f"invalid configuration from {source}: " + "; ".join(problems)) from None
