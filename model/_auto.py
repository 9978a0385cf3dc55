"""Registration of the ``molmo`` model type with transformers' Auto classes.

transformers takes seconds to import, so registering eagerly would make ``import molmo_agent``
slow. Instead: register now if transformers is already imported, else hook its import and register
right after it finishes. Either way ``AutoModelForCausalLM.from_pretrained(path)`` works after
``import molmo_agent`` with no ``trust_remote_code`` (the ``auto_map`` of official configs is
ignored because the model type is known locally).
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys

_MODULES = {
    "config": "molmo_agent.model.configuration_molmo",
    "model": "molmo_agent.model.modeling_molmo",
    "processor": "molmo_agent.model.processing_molmo",
}
_registered: set[str] = set()


def _initializing(module_name: str) -> bool:
    module = sys.modules.get(module_name)
    return bool(getattr(getattr(module, "__spec__", None), "_initializing", False))


def register_with_transformers(finishing: str | None = None) -> None:
    """Register MolmoConfig / MolmoForCausalLM / MolmoProcessor under model type ``molmo``.

    Idempotent. If one of our modules is still being imported (it imported transformers, which
    triggered this), nothing happens now: each of those modules calls this again as its last
    statement, naming itself as ``finishing``.
    """
    busy = [m for m in _MODULES.values() if m != finishing and _initializing(m)]
    if len(_registered) == len(_MODULES) or busy:
        return
    from transformers import AutoConfig, AutoModelForCausalLM, AutoProcessor

    config_class = importlib.import_module(_MODULES["config"]).MolmoConfig
    if "config" not in _registered:
        AutoConfig.register("molmo", config_class, exist_ok=True)
        _registered.add("config")
    targets = {"model": (AutoModelForCausalLM, "MolmoForCausalLM"), "processor": (AutoProcessor, "MolmoProcessor")}
    for key, (auto_class, class_name) in targets.items():
        if key in _registered:
            continue
        try:
            module = importlib.import_module(_MODULES[key])
        except ModuleNotFoundError as error:
            if error.name == _MODULES[key]:
                continue  # that part of the package is not installed in this build
            raise
        auto_class.register(config_class, getattr(module, class_name), exist_ok=True)
        _registered.add(key)


class _RegisterAfterTransformersImport(importlib.abc.MetaPathFinder):
    """Finds ``transformers`` like normal, then runs the registration after its module executes."""

    def find_spec(self, fullname, path, target=None):
        if fullname != "transformers":
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec("transformers")
        if spec is None or spec.loader is None:
            return spec
        original_exec = spec.loader.exec_module

        def exec_then_register(module):
            original_exec(module)
            register_with_transformers()

        spec.loader.exec_module = exec_then_register
        return spec


def install_auto_registration() -> None:
    if "transformers" in sys.modules:
        register_with_transformers()
    elif not any(isinstance(f, _RegisterAfterTransformersImport) for f in sys.meta_path):
        sys.meta_path.insert(0, _RegisterAfterTransformersImport())
