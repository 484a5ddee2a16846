"""`prove schema` and the editor schema file stay in sync, and every shipped proof validates."""
import json
from pathlib import Path

import jsonschema
import pytest
import yaml
from helpers import run_cli


ROOT = Path(__file__).resolve().parent.parent


def schema():
    return json.loads(run_cli(["schema"]).output)


def test_schema_file_is_current():
    assert json.loads((ROOT / "docs" / "proof.schema.json").read_text()) == schema(), \
        "regenerate with: prove schema > docs/proof.schema.json"


@pytest.mark.parametrize("path", sorted((ROOT / "proofs").glob("*.yaml")), ids=lambda p: p.name)
def test_proofs_validate_against_the_schema(path):
    jsonschema.validate(yaml.safe_load(path.read_text()), schema(),
                        cls=jsonschema.Draft7Validator)


def test_schema_rejects_unknown_keys():
    bad = {"theorem": "t", "variables": {}, "claim": {"lhs": "A", "rhs": "A"}, "bye": 1}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, schema(), cls=jsonschema.Draft7Validator)
