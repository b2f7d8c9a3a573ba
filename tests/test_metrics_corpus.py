"""Real GetMetricData responses from the shared corpus go through ``series_from_results``.

The corpus lives outside the repository (``../shared/corpus`` or ``$HAMARI_CORPUS``); these tests
skip cleanly when it is absent.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from tui.models.metrics import series_from_results

CORPUS = Path(
    os.environ.get("HAMARI_CORPUS") or Path(__file__).resolve().parents[2] / "shared" / "corpus"
)
METRICS = CORPUS / "metrics"


def _responses() -> list[Path]:
    if not METRICS.is_dir():
        return []
    out = []
    for path in sorted(METRICS.rglob("*.json")):
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            continue
        if isinstance(doc, dict) and "MetricDataResults" in doc:
            out.append(path)
    return out


RESPONSES = _responses()


def _queries_for(path: Path) -> list[dict[str, Any]]:
    """The request input published beside a response (aws-cli examples), if any."""
    for candidate in sorted(path.parent.glob("*_input.json")):
        doc = json.loads(candidate.read_text(encoding="utf-8"))
        if isinstance(doc, list):
            return [q for q in doc if isinstance(q, dict)]
    return []


@pytest.mark.skipif(not METRICS.is_dir(), reason=f"corpus not found at {METRICS}")
def test_corpus_has_getmetricdata_responses() -> None:
    assert RESPONSES, "the metrics corpus holds no GetMetricData response"


@pytest.mark.skipif(not RESPONSES, reason=f"no GetMetricData responses under {METRICS}")
@pytest.mark.parametrize("path", RESPONSES, ids=lambda p: p.relative_to(METRICS).as_posix())
def test_corpus_response_parses(path: Path) -> None:
    doc = json.loads(path.read_text(encoding="utf-8"))
    queries = _queries_for(path)
    series = series_from_results(doc, queries, 300)
    ids_in_doc = {r["Id"] for r in doc["MetricDataResults"]}
    with_data = [s for s in series if s.timestamps]
    assert len(with_data) == sum(1 for r in doc["MetricDataResults"] if r.get("Timestamps"))
    assert len(series) >= len(ids_in_doc)
    for s in series:
        assert list(s.timestamps) == sorted(set(s.timestamps))
        assert all(t.tzinfo is not None for t in s.timestamps)
        assert len(s.values) == len(s.timestamps)
    for r in doc["MetricDataResults"]:
        match = next(s for s in series if s.spec.label == r.get("Label") and s.timestamps)
        raw = [v for v in r["Values"] if isinstance(v, int | float)]
        assert sorted(v for v in match.values if v is not None) == sorted(raw)


@pytest.mark.skipif(not RESPONSES, reason=f"no GetMetricData responses under {METRICS}")
def test_corpus_metric_math_result_is_kept_raw() -> None:
    """The aws-cli example asks for ``(m1+m2)/300``: the expression result stays as published."""
    path = METRICS / "aws_aws-cli" / "get-metric-data__L60_output.json"
    if not path.exists():
        pytest.skip("aws-cli example not in this corpus")
    doc = json.loads(path.read_text(encoding="utf-8"))
    series = series_from_results(doc, _queries_for(path), 300)
    m3 = next(s for s in series if s.spec.label == "Avg Total IOPS")
    assert m3.values == (96.85,)
    assert m3.unit == ""
    # The two inputs sent with ReturnData false return nothing and get no series.
    assert series == [m3]
