#!/usr/bin/env bash
# docs/openapi.yaml read as YAML, not as lines: in a flow mapping an unquoted
# comma ends the value, so "{description: Present, and true}" silently grows
# a key "and true" with no value. Then, where npx reaches the registry,
# Redocly's OpenAPI linter. Prints "N passed, N failed"; exits 77 to skip.
set -u
source_dir=${1:?usage: openapi_lint.sh SOURCE_DIR}
spec="$source_dir/docs/openapi.yaml"

if ! command -v python3 >/dev/null || ! python3 -c 'import yaml' 2>/dev/null; then
    echo "SKIP: python3 with the yaml module (python3-yaml) is not installed"
    exit 77
fi

source "$(dirname "$0")/../check.sh"

yaml_is_sound() {
    python3 - "$spec" <<'PY'
import sys, yaml

# What a schema object may hold (JSON Schema 2020-12 as OpenAPI 3.1 uses it).
schema_keys = {
    "$ref", "type", "description", "title", "default", "examples", "example", "enum", "const", "format",
    "pattern", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "minLength", "maxLength",
    "minItems", "maxItems", "uniqueItems", "items", "properties", "required", "additionalProperties",
    "oneOf", "anyOf", "allOf", "not", "readOnly", "writeOnly", "deprecated", "nullable",
}
problems = []

def walk(node, path):
    if isinstance(node, dict):
        for key, value in node.items():
            here = f"{path}/{key}"
            # A key without a value is what an unquoted comma leaves behind.
            if value is None:
                problems.append(f"{here}: a key with no value (an unquoted comma in a flow mapping?)")
            if key == "properties" and isinstance(value, dict):
                for name, schema in value.items():
                    if not isinstance(schema, dict):
                        problems.append(f"{here}/{name}: not a mapping")
                        continue
                    for stray in sorted(set(map(str, schema)) - schema_keys):
                        problems.append(f"{here}/{name}: '{stray}' is no schema keyword")
            walk(value, here)
    elif isinstance(node, list):
        for i, value in enumerate(node):
            walk(value, f"{path}/{i}")

try:
    with open(sys.argv[1]) as f:
        document = yaml.safe_load(f)
except yaml.YAMLError as error:
    sys.exit(f"not valid YAML: {error}")
walk(document, "")
for problem in problems:
    print(problem)
sys.exit(1 if problems else 0)
PY
}

check "docs/openapi.yaml parses as YAML, every property a schema, no stray keys" yaml_is_sound

# Redocly needs the npm registry; without it the check is skipped, not failed.
if command -v npx >/dev/null && timeout 20 npm view @redocly/cli version >/dev/null 2>&1; then
    check "redocly lint docs/openapi.yaml" timeout 300 npx --yes @redocly/cli lint --format stylish "$spec"
else
    echo "SKIP: redocly lint (npx missing or the npm registry out of reach)"
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
