"""Registration of the ``molmo`` model type with transformers' Auto classes.

transformers takes seconds to import, so registering eagerly would make ``import molmo_agent``
slow. Instead: register now if transformers is already imported, else hook its import and register
right after it finishes. Either way ``AutoModelForCausalLM.from_pretrained(path)`` works after
``import molmo_agent`` with no ``trust_remote_code`` (the ``auto_map`` of official configs is
ignored because the model type is known locally).
"""

from __future__ import annotations

import importlib.abc
import importlib.util
import sys

_registered = False


def register_with_transformers() -> None:
    """Register MolmoConfig / MolmoForCausalLM / MolmoProcessor under model type ``molmo``."""
    global _registered
    if _registered:
        return
    _registered = True
    from transformers import AutoConfig, AutoModelForCausalLM, AutoProcessor

    from molmo_agent.model.configuration_molmo import MolmoConfig
    from molmo_agent.model.modeling_molmo import MolmoForCausalLM
    from molmo_agent.model.processing_molmo import MolmoProcessor

    AutoConfig.register("molmo", MolmoConfig, exist_ok=True)
    AutoModelForCausalLM.register(MolmoConfig, MolmoForCausalLM, exist_ok=True)
    AutoProcessor.register(MolmoConfig, MolmoProcessor, exist_ok=True)


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
