"""LeanSparkline: gaps and bad numbers, one colour per state, threshold, no redundant refresh."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st
from textual.app import App, ComposeResult
from textual.strip import Strip

from widgets.sparkline import BLOCKS, LeanSparkline, bucket

NAN = float("nan")
INF = float("inf")


@pytest.mark.parametrize(
    ("values", "width", "expected"),
    [
        ([], 3, [None, None, None]),
        ([5.0], 3, [5.0, 5.0, 5.0]),
        ([1.0, 2.0], 4, [1.0, 1.0, 2.0, 2.0]),
        ([1.0, 2.0, 3.0, 4.0], 2, [2.0, 4.0]),
        ([1.0, None, 3.0, None], 2, [1.0, 3.0]),
        ([None, None, 1.0, 2.0], 2, [None, 2.0]),
        ([1.0, NAN, INF, -INF], 4, [1.0, None, None, None]),
        ([0.0] * 99 + [100.0], 10, [0.0] * 9 + [100.0]),
        ([1.0, 2.0], 0, []),
    ],
)
def test_bucket(values: list[float | None], width: int, expected: list[float | None]) -> None:
    assert bucket(values, width) == expected


@given(
    st.lists(st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True)), max_size=300),
    st.integers(min_value=1, max_value=120),
)
def test_bucket_keeps_width_and_the_peak(values: list[float | None], width: int) -> None:
    cells = bucket(values, width)
    assert len(cells) == width
    finite = [v for v in values if v is not None and math.isfinite(v)]
    present = [v for v in cells if v is not None]
    if len(values) >= width and finite:
        assert max(present) == max(finite)
    assert all(math.isfinite(v) for v in present)


class SparkApp(App[None]):
    CSS = "LeanSparkline { width: 20; }"

    def __init__(self, spark: LeanSparkline) -> None:
        super().__init__()
        self.spark = spark

    def compose(self) -> ComposeResult:
        yield self.spark


def line(spark: LeanSparkline) -> Strip:
    return spark.render_line(0)


@pytest.mark.parametrize(
    "data",
    [
        [],
        [None],
        [NAN],
        [INF, -INF],
        [42.0],
        [0.0, 0.0, 0.0],
        [-5.0, -1.0, -3.0],
        [1.0, None, NAN, 3.0, INF, -INF, 2.0],
        [1e308, -1e308, 1e-308],
        list(range(1000)),
    ],
    ids=["empty", "none", "nan", "inf", "single", "zeros", "negative", "mixed", "huge", "long"],
)
async def test_awkward_series_render_without_crashing(data: list[float | None]) -> None:
    app = SparkApp(LeanSparkline(data, limit=10.0))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        strip = line(app.spark)
        assert strip.cell_length == 20
        assert set(strip.text) <= {*BLOCKS, "·", " "}
        if not data:
            assert strip.text == " " * 20


async def test_gaps_are_dim_dots_and_values_are_blocks() -> None:
    app = SparkApp(LeanSparkline([1.0, None, 4.0, NAN] * 5))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        text = line(app.spark).text
        assert text[1] == "·" and text[3] == "·"
        assert text[0] == BLOCKS[1] and text[2] == BLOCKS[-1]


async def test_saturated_style_only_at_or_above_the_threshold() -> None:
    data = [10.0, 50.0, 89.0, 90.0, 95.0, 120.0] + [0.0] * 14
    app = SparkApp(LeanSparkline(data, limit=100.0, saturation=0.9))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        spark = app.spark
        saturated = spark.get_component_rich_style("lean-sparkline--saturated").color
        normal = spark.rich_style.color
        assert saturated is not None and saturated != normal
        colours = [segment.style.color for segment in line(spark) for _ in segment.text]
        flags = [colour == saturated for colour in colours]
        assert flags == [value >= 90.0 for value in data]
        # The scale includes the limit: 50 of 120 is under half height.
        assert line(spark).text[1] in BLOCKS[:4]


async def test_scale_includes_the_limit_even_when_values_are_low() -> None:
    app = SparkApp(LeanSparkline([1.0] * 20, limit=100.0))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert line(app.spark).text == BLOCKS[0] * 20


async def test_one_style_run_per_state() -> None:
    data = [float(n % 17) for n in range(200)]
    app = SparkApp(LeanSparkline(data))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert len(list(line(app.spark))) == 1


async def test_stale_class_dims_the_line() -> None:
    app = SparkApp(LeanSparkline([1.0, 2.0, 3.0], limit=3.0))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        fresh = {segment.style.color for segment in line(app.spark)}
        app.spark.add_class("-stale")
        await pilot.pause()
        stale = {segment.style.color for segment in line(app.spark)}
        assert stale != fresh
        assert len(stale) == 1


async def test_unchanged_data_does_not_refresh(monkeypatch: pytest.MonkeyPatch) -> None:
    app = SparkApp(LeanSparkline([1.0, NAN, 3.0], limit=5.0))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        spark = app.spark
        calls: list[object] = []
        original = spark.refresh

        def counting_refresh(*args: object, **kwargs: object) -> LeanSparkline:
            calls.append(args)
            return original(*args, **kwargs)  # type: ignore[arg-type]

        monkeypatch.setattr(spark, "refresh", counting_refresh)
        assert spark.update([1.0, float("nan"), 3.0]) is False
        assert spark.update([1, None, 3], limit=5) is False
        assert calls == []
        assert spark.update([1.0, 2.0, 3.0]) is True
        assert spark.update([1.0, 2.0, 3.0], limit=None) is True
        assert len(calls) == 2
        await pilot.pause()
        assert line(spark).text.endswith(BLOCKS[-1])
