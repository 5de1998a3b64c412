"""The shared SVG chart renderer."""

import pytest

from opsplatform.core.charts import Chart, Series, format_value, nice_ticks, render


def test_a_stacked_bar_chart_is_accessible_and_uses_the_tokens():
    chart = Chart(
        kind="bar",
        title="Incidents per day",
        description="Stacked by severity.",
        labels=["03-01", "03-02"],
        series=[Series("SEV1", [1, 0], "--sev1"), Series("SEV2", [2, 3], "--sev2")],
    )
    html = render(chart)

    assert '<svg class="chart" role="img"' in html
    assert "<title id=" in html and ">Incidents per day</title>" in html
    assert ">Stacked by severity.</desc>" in html
    assert "fill:var(--sev1)" in html and "fill:var(--sev2)" in html
    assert '<table class="sr-only"' in html
    assert '<tr><th scope="row">03-02</th><td>0</td><td>3</td></tr>' in html
    assert html.count("<rect") == 3 + 2  # three bars (a zero draws none) and two legend keys


def test_a_line_breaks_where_there_is_no_figure():
    chart = Chart(
        kind="line",
        title="MTTA",
        labels=["a", "b", "c", "d"],
        series=[Series("MTTA", [60, None, 120, 180])],
        unit="duration",
    )
    html = render(chart)

    assert html.count("<polyline") == 1 and html.count("<circle") == 1
    assert "<td>\u2013</td>" in html  # the missing day reads as no figure, not as zero
    assert "fill:none;stroke:var(--series-1)" in html


def test_labels_are_escaped():
    html = render(
        Chart(kind="hbar", title="<b>x</b>", labels=["<script>alert(1)</script>"], series=[Series("n", [3])])
    )

    assert "<script>" not in html
    assert "&lt;script&gt;" in html


def test_empty_chart_says_so():
    assert "No data in this range." in render(Chart(kind="bar", title="t", labels=[], series=[]))


def test_mismatched_series_is_refused():
    with pytest.raises(ValueError, match="values for 2 labels"):
        Chart(kind="bar", title="t", labels=["a", "b"], series=[Series("s", [1])])
    with pytest.raises(ValueError, match="kind"):
        Chart(kind="pie", title="t", labels=[], series=[])


@pytest.mark.parametrize(
    ("maximum", "ticks"),
    [(0, [0.0, 1.0]), (7, [0, 2, 4, 6, 8]), (100, [0, 25, 50, 75, 100]), (0.93, [0, 0.25, 0.5, 0.75, 1.0])],
)
def test_nice_ticks(maximum, ticks):
    assert nice_ticks(maximum) == ticks


@pytest.mark.parametrize(
    ("value", "unit", "text"),
    [
        (None, "count", "\u2013"),
        (1234, "count", "1,234"),
        (25000, "count", "25k"),
        (0.6667, "ratio", "66.7%"),
        (1, "ratio", "100%"),
        (45, "duration", "45 s"),
        (555, "duration", "9 min"),
        (16200, "duration", "4.5 h"),
        (3 * 86400, "duration", "3.0 d"),
    ],
)
def test_format_value(value, unit, text):
    assert format_value(value, unit) == text


def test_the_template_tag(rf):
    from django.template import Context, Template

    chart = Chart(kind="hbar", title="By service", labels=["Checkout"], series=[Series("Incidents", [3])])
    html = Template("{% load charts %}{% chart spec %}").render(Context({"spec": chart}))

    assert 'data-chart="hbar"' in html and ">By service</title>" in html
