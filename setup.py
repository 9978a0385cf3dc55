"""Maps the architecture's top-level folders to subpackages of ``molmo_agent``.

Metadata lives in pyproject.toml; only the package layout is computed here, so a new subpackage
inside any of the folders is picked up without editing a list.
"""

from setuptools import find_packages, setup

FOLDERS = {
    "molmo_agent": "molmo_agent",
    "molmo_agent.model": "model",
    "molmo_agent.training": "training",
    "molmo_agent.adapters": "adapters",
    "molmo_agent.sims": "sims",
}

packages = []
for package, folder in FOLDERS.items():
    packages.append(package)
    packages += [f"{package}.{sub}" for sub in find_packages(folder)]

setup(package_dir=FOLDERS, packages=packages)
