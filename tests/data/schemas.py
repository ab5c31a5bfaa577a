"""The platform manifest schemas vendored in this folder (sources in README.md), as validators."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema.protocols import Validator
from jsonschema.validators import validator_for

HERE = Path(__file__).resolve().parent
SLACK_GENERATED = HERE / "slack-manifest" / "manifest.schema.json"
# slackapi/manifest-schema's own file, where it has been put beside the clone (README.md).
SLACK_PUBLISHED = HERE.parents[2] / "shared" / "data" / "slack-manifest.schema.1.0.0.json"


def validator(path: Path) -> Validator:
    """A validator of the draft the schema declares, after checking the schema itself."""
    schema = json.loads(path.read_text(encoding="utf-8"))
    cls = validator_for(schema)
    cls.check_schema(schema)
    checker: Validator = cls(schema, format_checker=cls.FORMAT_CHECKER)
    return checker


def teams_manifest_validator(manifest_version: str) -> Validator:
    """Microsoft's schema for a Teams manifest of ``manifest_version`` ("1.17")."""
    path = HERE / "teams-manifest" / f"v{manifest_version}" / "MicrosoftTeams.schema.json"
    if not path.is_file():
        pytest.fail(
            f"no Teams schema for manifestVersion {manifest_version} under tests/data: "
            f"vendor it as {path.relative_to(HERE.parents[1])} (see tests/data/README.md)"
        )
    return validator(path)


def violations(checker: Validator, instance: Any) -> list[str]:
    """Each way ``instance`` breaks the schema, as "path: message"."""
    found = []
    for error in checker.iter_errors(instance):
        where = "/".join(str(part) for part in error.absolute_path) or "(top)"
        found.append(f"{where}: {error.message}")
    return found
