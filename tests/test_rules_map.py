"""docs/rules.md names every rule, and every file and test it cites exists (the living rule map)."""

from __future__ import annotations

import re
from pathlib import Path

RULE_MAP = Path("docs/rules.md")
# Every ID in the catalogue, by family and count.
RULE_FAMILIES = {
    "SCH": 8,
    "ASY": 7,
    "DB": 10,
    "DEP": 14,
    "ERR": 6,
    "JOB": 10,
    "API": 10,
    "TST": 9,
    "OPS": 13,
    # Added by the project itself, beyond the seed catalogue.
    "HTTP": 3,
    "TPL": 3,
    "SEC": 10,
    "IDN": 9,
}
CITATION = re.compile(r"`([^`\s]+)`")
FILE_SUFFIXES = (".py", ".md", ".toml", ".lock", ".ini", ".yml", ".yaml", ".json", ".sh", ".example")


def rule_rows() -> dict[str, str]:
    rows = {}
    for line in RULE_MAP.read_text().splitlines():
        match = re.match(r"^\| ([A-Z]+-\d+) \|", line)
        if match:
            rows[match.group(1)] = line
    return rows


def test_every_rule_has_exactly_one_row() -> None:
    expected = {f"{family}-{number}" for family, count in RULE_FAMILIES.items() for number in range(1, count + 1)}
    assert set(rule_rows()) == expected


def test_every_row_names_where_and_what_proves_it() -> None:
    for rule, line in rule_rows().items():
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        assert len(cells) == 4, rule
        assert cells[2], f"{rule}: no code named"
        assert cells[3], f"{rule}: no proof named"


def test_every_cited_file_and_test_exists() -> None:
    missing = []
    for rule, line in rule_rows().items():
        for citation in CITATION.findall(line):
            path, _, test = citation.partition("::")
            if "/" not in path and not path.endswith(FILE_SUFFIXES) and path != "Dockerfile":
                continue  # a symbol (`asyncio.to_thread`), not a file
            if not Path(path.rstrip("/")).exists():
                missing.append(f"{rule}: {path}")
            elif test and not re.search(rf"^(async )?def {re.escape(test)}\(", Path(path).read_text(), re.MULTILINE):
                missing.append(f"{rule}: {citation}")
    assert not missing, missing
