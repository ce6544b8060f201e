"""Files the program reads, found as package data wherever the project is installed.

Catalogs (`locales`), training data and gazetteers (`nlu`), conversation content (`flows`),
templates and static files (`bot`) ship inside the wheel, so the bot runs from any folder.
What a deployment changes (its database, keys, caches, recordings) lives in the data
directory instead (`Settings.data_dir`).
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path


def package_path(package: str, *parts: str) -> Path:
    """The real path of a file or folder shipped inside `package`.

    The packages are installed as plain folders (a wheel or an editable checkout), so package
    data is on disk and can be handed to code that wants paths (Babel, Jinja2, StaticFiles).
    """
    resource = files(package).joinpath(*parts)
    if not isinstance(resource, Path):  # e.g. imported from a zip file
        raise RuntimeError(f"{package} is not installed as a folder; install the wheel with pip")
    return resource
