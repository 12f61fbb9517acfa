"""The peers of the benchmarks: the pure-Python `fastalloc` 0.1.1 from PyPI,
installed with `pip install --target` into its own folder and imported as
`fastalloc_ref`, so it sits beside this package in one run."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Optional

import pytest

REF_VERSION = "0.1.1"
REF_DIR = Path(os.environ.get("FASTALLOC_REF_DIR", Path(__file__).parent / ".ref"))


def load_reference() -> Optional[ModuleType]:
    """`fastalloc` 0.1.1 as the module `fastalloc_ref` (installed into
    `REF_DIR` on first use), or `None` when it cannot be had (no network)."""
    if "fastalloc_ref" in sys.modules:
        return sys.modules["fastalloc_ref"]
    init = REF_DIR / "fastalloc" / "__init__.py"
    if not init.exists():
        result = subprocess.run(
            [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
             "--target", str(REF_DIR), f"fastalloc=={REF_VERSION}"],
            check=False,
        )
        if result.returncode != 0 or not init.exists():
            return None
    spec = importlib.util.spec_from_file_location(
        "fastalloc_ref", init, submodule_search_locations=[str(init.parent)]
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["fastalloc_ref"] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def reference() -> ModuleType:
    module = load_reference()
    if module is None:
        pytest.fail(f"fastalloc {REF_VERSION} could not be installed from PyPI into {REF_DIR}")
    return module
