"""Derive run configs from the shipped YAML files (used by the demo pipeline and the tests), build the
commands' parsers, and turn a parser's error into one ``error:`` line."""

from __future__ import annotations

import argparse
import importlib
import inspect
import sys
import types
import typing
from pathlib import Path
from typing import Any

import yaml

from hn_lightning.io.atomic import atomic_write_text


def retarget(config: str | Path, out_dir: str | Path, model: dict[str, Any] | None = None,
             data: dict[str, Any] | None = None, trainer: dict[str, Any] | None = None) -> dict[str, Any]:
    """Load a LightningCLI config and point every output (root dir, loggers, checkpoints, export) at
    ``out_dir``; ``model``/``data``/``trainer`` entries override ``model.init_args.model``,
    ``data.init_args`` and ``trainer`` keys."""
    cfg = yaml.safe_load(Path(config).read_text())
    out = str(out_dir)
    cfg["trainer"]["default_root_dir"] = out
    for logger in cfg["trainer"].get("logger") or []:
        logger.setdefault("init_args", {})["save_dir"] = out
    for cb in cfg["trainer"].get("callbacks") or []:
        if "dirpath" in cb.get("init_args", {}):
            cb["init_args"]["dirpath"] = str(Path(out) / "checkpoints")
    cfg.setdefault("export", {})["out_dir"] = str(Path(out) / "hf_model")
    cfg["model"]["init_args"]["model"].update(model or {})
    cfg["data"]["init_args"].update(data or {})
    cfg["trainer"].update(trainer or {})
    return cfg


def write_config(cfg: dict[str, Any], path: str | Path) -> Path:
    """Write a config dict as YAML (atomically) and return its path."""
    atomic_write_text(path, yaml.safe_dump(cfg, sort_keys=False))
    return Path(path)


def dataclass_parser(cls: type, prog: str, description: str | None, config_help: str, flag: str, flag_help: str):
    """A jsonargparse parser for a command configured by one documented dataclass: ``--config`` (YAML),
    ``--print_config`` (commented), one boolean ``--<flag>``, and every field of ``cls`` as a key."""
    import jsonargparse
    from jsonargparse import ActionConfigFile, ArgumentParser

    jsonargparse.set_parsing_settings(docstring_parse_attribute_docstrings=True)
    # exit_on_error=False: a bad value raises ArgumentError, which the entry point prints as one line
    # (parser_error_line) instead of jsonargparse's usage block
    parser = ArgumentParser(prog=prog, description=description, parser_mode="yaml", exit_on_error=False,
                            formatter_class=jsonargparse.DefaultHelpFormatter)
    parser.add_argument("--config", action=ActionConfigFile, help=config_help)
    parser.add_argument(f"--{flag}", type=bool, default=False, help=flag_help)
    parser.add_class_arguments(cls, None, as_group=False)
    return parser


def parse_dataclass(parser, cls: type, argv: list[str]):
    """``(cls instance, namespace)`` from a command line; a bare ``--print_config`` prints comments."""
    from dataclasses import fields

    ns = parser.parse_args(["--print_config=comments" if a == "--print_config" else a for a in argv])
    init = parser.instantiate(ns)
    return cls(**{f.name: getattr(init, f.name) for f in fields(cls)}), ns


class OneLineArgumentParser(argparse.ArgumentParser):
    """``argparse.ArgumentParser`` whose errors are one ``error:`` line (a :class:`~hn_lightning.errors.UserError`
    printed by the entry point, exit code 2) instead of the usage block; ``--help`` still prints the usage."""

    def error(self, message: str) -> typing.NoReturn:
        from hn_lightning.errors import UserError

        raise UserError(f"{self.prog}: {message} (cli.py {self.prog} --help lists the options)")


_CHECKING_FRAMES = ("_check_type_", "_check_value_key")
"""jsonargparse functions that check one key's value; the key's action is a local of their frame."""


def _checked_keys(exc: BaseException) -> list[tuple[str, Any, Any]]:
    """``(dest, type hint, given value)`` of each key whose check raised ``exc`` or an error it came from,
    outermost first: read from the frames of jsonargparse's checking functions along the exception chain."""
    found: list[tuple[str, Any, Any]] = []
    seen_actions: set[int] = set()
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        tb = exc.__traceback__
        while tb is not None:
            frame = tb.tb_frame
            if frame.f_code.co_name in _CHECKING_FRAMES:
                local = frame.f_locals
                action = local.get("self") if frame.f_code.co_name == "_check_type_" else local.get("action")
                dest = getattr(action, "dest", None)
                if dest and id(action) not in seen_actions:
                    seen_actions.add(id(action))
                    hint = getattr(action, "_typehint", None)
                    value = local.get("orig_val", local.get("value"))
                    found.append((dest, hint, value))
            tb = tb.tb_next
        exc = exc.__cause__ or exc.__context__
    return found


def _innermost(exc: BaseException) -> BaseException:
    seen: set[int] = set()
    while id(exc) not in seen:
        seen.add(id(exc))
        nxt = exc.__cause__ or exc.__context__
        if nxt is None:
            break
        exc = nxt
    return exc


def _unwrap_optional(hint: Any) -> Any:
    args = typing.get_args(hint)
    if typing.get_origin(hint) in (typing.Union, types.UnionType) and type(None) in args:
        rest = [a for a in args if a is not type(None)]
        return rest[0] if len(rest) == 1 else hint
    return hint


def _public_path(cls: type) -> str:
    """``cls``'s import path through the shortest loaded module that exports it (``hn_lightning.losses.SigmoidDPO``)."""
    parts = cls.__module__.split(".")
    for i in range(1, len(parts)):
        module = sys.modules.get(".".join(parts[:i]))
        if getattr(module, cls.__name__, None) is cls:
            return f"{'.'.join(parts[:i])}.{cls.__name__}"
    return f"{cls.__module__}.{cls.__name__}"


def _subclass_paths(base: type, limit: int = 16) -> list[str]:
    """Import paths of the concrete, public subclasses of ``base`` (the package's own classes imported first)."""
    for module in ("hn_lightning.losses", "hn_lightning.modules", "hn_lightning.data", "hn_lightning.optim"):
        try:
            importlib.import_module(module)
        except Exception:  # noqa: BLE001 - a choice list is a courtesy; never fail the error message on it
            pass
    paths: list[str] = []
    todo = [base]
    while todo:
        cls = todo.pop(0)
        todo.extend(cls.__subclasses__())
        if cls is base or inspect.isabstract(cls) or "<locals>" in cls.__qualname__ or cls.__name__.startswith(("_", "LazyInstance_")):
            continue
        path = _public_path(cls)
        internal = cls.__module__.startswith("hn_lightning.") and path == f"{cls.__module__}.{cls.__name__}"
        if not internal and "._" not in path and path not in paths:  # the package's own: only exported classes
            paths.append(path)
    if len(paths) > limit:
        paths = [*paths[:limit], f"... ({len(paths) - limit} more)"]
    return paths


def _choices(hint: Any) -> list[str] | None:
    hint = _unwrap_optional(hint)
    if typing.get_origin(hint) is typing.Literal:
        return [str(a) for a in typing.get_args(hint)]
    if hint is bool:
        return ["true", "false"]
    if inspect.isclass(hint) and hint not in (int, float, str, bool, dict, list, tuple):
        return _subclass_paths(hint) or None
    return None


def parser_error_line(exc: BaseException) -> str:
    """One line for a parse error of LightningCLI / jsonargparse (raised with ``exit_on_error=False``):
    the full key, the reason of the innermost error, the value given and the choices where there are
    choices (a Literal's values, the known subclasses of a class-typed key)."""
    keys = _checked_keys(exc)
    reason = " ".join(str(_innermost(exc)).split()) or type(exc).__name__
    if not keys:
        return f"{reason} (--help lists the options)"
    key = ".init_args.".join(dest for dest, _, _ in keys)
    _, hint, value = keys[-1]
    choices = _choices(hint)
    if not choices:
        return f"{key}: {reason}"
    if typing.get_origin(_unwrap_optional(hint)) is typing.Literal and isinstance(value, (str, int, float)):
        reason = f"{value!r} is not one of the choices"
    elif isinstance(value, (str, int, float)) and str(value) not in reason:
        reason += f" (given {value!r})"
    return f"{key}: {reason}; choices: {', '.join(choices)}"
