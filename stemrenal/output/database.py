"""The selected studies as a SQLite database (`list -o registry.db`), for people who query
with SQL: normalised tables with foreign keys, so sqlite3, Datasette, sqlite-utils and DuckDB
can join and facet without parsing TOML or JSON. One study row per study; every list in a
record is a table of its own, keyed by `study_id`."""

from __future__ import annotations

import json
import os
import sqlite3
import tempfile
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from stemrenal.models import Study

SCHEMA = """
PRAGMA foreign_keys = ON;
CREATE TABLE studies (
  id TEXT PRIMARY KEY, title TEXT NOT NULL, year INTEGER NOT NULL, journal TEXT NOT NULL,
  volume TEXT, issue TEXT, pages TEXT, doi TEXT, pmid TEXT,
  design TEXT NOT NULL, randomized INTEGER NOT NULL, phase TEXT, blinding TEXT,
  comparator TEXT, centres INTEGER, enrolled INTEGER, follow_up TEXT, follow_up_months REAL,
  population TEXT, cell_type TEXT, cell_source TEXT, tissue TEXT, dose TEXT, route TEXT,
  doses INTEGER, risk_of_bias TEXT, risk_of_bias_tool TEXT, safety TEXT, last_checked TEXT,
  record TEXT NOT NULL  -- the whole record as JSON, as `list --format json` gives it
);
CREATE TABLE authors (study_id TEXT NOT NULL REFERENCES studies(id), position INTEGER NOT NULL,
  name TEXT NOT NULL, PRIMARY KEY (study_id, position));
CREATE TABLE conditions (study_id TEXT NOT NULL REFERENCES studies(id), disease TEXT NOT NULL);
CREATE TABLE comparator_classes (study_id TEXT NOT NULL REFERENCES studies(id),
  comparator TEXT NOT NULL);
CREATE TABLE arms (study_id TEXT NOT NULL REFERENCES studies(id), position INTEGER NOT NULL,
  name TEXT NOT NULL, n INTEGER, role TEXT, description TEXT);
CREATE TABLE outcomes (id INTEGER PRIMARY KEY, study_id TEXT NOT NULL REFERENCES studies(id),
  endpoint TEXT NOT NULL, measure TEXT NOT NULL, timepoint TEXT NOT NULL, result TEXT NOT NULL,
  p_value TEXT, direction TEXT, comparison TEXT NOT NULL, is_primary INTEGER NOT NULL);
CREATE TABLE safety_events (study_id TEXT NOT NULL REFERENCES studies(id), event TEXT NOT NULL,
  description TEXT NOT NULL, arm TEXT, count INTEGER, denominator INTEGER, serious INTEGER,
  relatedness TEXT);
CREATE TABLE risk_of_bias_domains (study_id TEXT NOT NULL REFERENCES studies(id),
  domain TEXT NOT NULL, judgement TEXT NOT NULL, reason TEXT NOT NULL);
CREATE TABLE limitations (study_id TEXT NOT NULL REFERENCES studies(id), text TEXT NOT NULL,
  source TEXT NOT NULL);
CREATE TABLE sources (study_id TEXT NOT NULL REFERENCES studies(id), position INTEGER NOT NULL,
  url TEXT NOT NULL);
CREATE TABLE registrations (study_id TEXT NOT NULL REFERENCES studies(id),
  registration TEXT NOT NULL);
CREATE TABLE overlaps (study_id TEXT NOT NULL REFERENCES studies(id), other_id TEXT NOT NULL);
CREATE INDEX conditions_disease ON conditions(disease, study_id);
CREATE INDEX outcomes_endpoint ON outcomes(endpoint, study_id);
"""


def _rows(study: Study) -> dict[str, list[tuple[object, ...]]]:
    c, d, i = study.citation, study.design, study.intervention
    rob = study.risk_of_bias
    record = json.dumps(study.model_dump(mode="json"), ensure_ascii=False)
    return {
        "studies": [
            (
                study.id, study.title, study.year, c.journal, c.volume, c.issue, c.pages, c.doi,
                c.pmid, d.kind, d.randomized, d.phase, d.blinding, d.comparator, d.centres,
                study.enrolled, study.follow_up, study.follow_up_months, study.population,
                i.cell_type, i.cell_source, i.tissue, i.dose, i.route, i.doses,
                rob.overall if rob else None, rob.tool if rob else None, study.safety,
                study.last_checked, record,
            )
        ],
        "authors": [(study.id, n, name) for n, name in enumerate(c.authors, 1)],
        "conditions": [(study.id, disease) for disease in study.conditions],
        "comparator_classes": [(study.id, k) for k in d.comparator_classes],
        "arms": [
            (study.id, n, a.name, a.n, a.role, a.description) for n, a in enumerate(study.arms, 1)
        ],
        "outcomes": [
            (None, study.id, o.endpoint, o.measure, o.timepoint, o.result, o.p_value,
             o.direction, o.comparison, o.primary)
            for o in study.outcomes
        ],
        "safety_events": [
            (study.id, e.event, e.description, e.arm, e.count, e.denominator, e.serious,
             e.relatedness)
            for e in study.safety_events
        ],
        "risk_of_bias_domains": [
            (study.id, dm.domain, dm.judgement, dm.reason) for dm in (rob.domains if rob else [])
        ],
        "limitations": [(study.id, lim.text, lim.source) for lim in study.limitations],
        "sources": [(study.id, n, url) for n, url in enumerate(study.sources, 1)],
        "registrations": [(study.id, r) for r in study.registrations],
        "overlaps": [(study.id, other) for other in study.overlaps],
    }  # fmt: skip


def database(studies: Sequence[Study]) -> bytes:
    """The studies as the bytes of a SQLite database file."""
    selected = {s.id for s in studies}
    fd, path = tempfile.mkstemp(suffix=".db")
    os.close(fd)
    try:
        connection = sqlite3.connect(path)
        try:
            connection.executescript(SCHEMA)
            for study in studies:
                for table, rows in _rows(study).items():
                    if table == "overlaps":  # an overlap with a study not selected stays out
                        rows = [r for r in rows if r[1] in selected]
                    if rows:
                        marks = ", ".join("?" * len(rows[0]))
                        connection.executemany(f"INSERT INTO {table} VALUES ({marks})", rows)
            connection.commit()
        finally:
            connection.close()
        with open(path, "rb") as handle:
            return handle.read()
    finally:
        os.unlink(path)
