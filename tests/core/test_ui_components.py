"""The design system's template tags and widgets: wording of times, current tabs, filters."""

from datetime import timedelta

import pytest
from django import forms
from django.template import Context, Template
from django.test import RequestFactory
from django.utils import timezone

from opsplatform.core.timefmt import countdown_text, relative_text, short_duration
from opsplatform.core.widgets import CheckboxDropdown, Chips, SearchableSelect

NOW = timezone.now()


@pytest.mark.parametrize(
    ("offset", "text"),
    [
        (timedelta(seconds=0), "just now"),
        (timedelta(seconds=59), "just now"),
        (timedelta(seconds=60), "1 min ago"),
        (timedelta(minutes=59, seconds=59), "59 min ago"),
        (timedelta(hours=5, minutes=3), "5 h ago"),
        (timedelta(days=3), "3 d ago"),
        (-timedelta(seconds=20), "in under a minute"),
        (-timedelta(minutes=90), "in 1 h"),
    ],
)
def test_relative_times_never_read_zero_minutes(offset, text):
    assert relative_text(NOW - offset, NOW) == text


def test_relative_times_beyond_a_month_are_dates():
    assert relative_text(NOW - timedelta(days=40), NOW) == timezone.localtime(
        NOW - timedelta(days=40)
    ).strftime("%Y-%m-%d")


def test_durations_and_countdowns():
    assert short_duration(0) == "0 s"
    assert short_duration(125) == "2 min 05 s"
    assert short_duration(3 * 3600 + 60) == "3 h 01 min"
    assert short_duration(50 * 3600) == "2 d 2 h"
    assert countdown_text(NOW + timedelta(minutes=9, seconds=30), NOW) == "9 min 30 s left"
    assert countdown_text(NOW - timedelta(minutes=3), NOW) == "overdue by 3 min"


def render(source, **context):
    return Template("{% load ui %}" + source).render(Context(context))


def test_tab_is_current_under_its_path_and_exact_tabs_only_on_their_own():
    request = RequestFactory().get("/oncall/schedules/4/")
    html = render(
        '{% tab "notifications:schedule_list" "Schedules" match="/oncall/$ /oncall/schedules/" %}',
        request=request,
    )
    assert 'aria-current="page"' in html and 'href="/oncall/"' in html
    assert "aria-current" not in render('{% tab "/oncall/" "Home" exact=True %}', request=request)
    assert "aria-current" not in render('{% tab "incidents:list" "Incidents" %}', request=request)


def test_pagination_keeps_the_other_filters():
    from django.core.paginator import Paginator

    request = RequestFactory().get("/incidents/", {"status": ["triggered", "acknowledged"], "page": "2"})
    page = Paginator(list(range(60)), 25).page(2)
    html = render("{% pagination page %}", request=request, page=page)
    assert "status=triggered&amp;status=acknowledged&amp;page=1" in html
    assert "status=triggered&amp;status=acknowledged&amp;page=3" in html
    assert "Page 2 of 3" in html and "60 in all" in html
    first = render("{% pagination page %}", request=request, page=Paginator(list(range(60)), 25).page(1))
    assert 'rel="prev"' not in first and "page=2" in first  # Page.has_previous is a method


def test_reltime_and_countdown_render_machine_readable_times():
    now = timezone.now()  # not the module's NOW: the suite may run this minutes after import
    html = render(
        "{% reltime when %} {% countdown due %}",
        when=now - timedelta(minutes=5, seconds=10),
        due=now - timedelta(seconds=1),
    )
    assert 'datetime="' in html and "5 min ago" in html
    assert 'class="countdown overdue"' in html and "overdue by" in html


class FilterForm(forms.Form):
    status = forms.MultipleChoiceField(choices=[("a", "Alpha"), ("b", "Beta")], widget=Chips, required=False)
    service = forms.MultipleChoiceField(
        choices=[(str(i), f"Service {i}") for i in range(10)],
        widget=CheckboxDropdown(empty_label="All services"),
        required=False,
    )
    zone = forms.ChoiceField(
        choices=[("UTC", "UTC"), ("Europe/Berlin", "Europe/Berlin")], widget=SearchableSelect
    )


def test_widgets_render_plain_checkboxes_that_round_trip():
    form = FilterForm({"status": ["b"], "service": ["1", "2", "3"], "zone": "UTC"})
    assert form.is_valid()
    html = str(form)
    assert '<label class="chip"><input type="checkbox" name="status" value="b" checked>Beta</label>' in html
    assert "Service 1 +2" in html  # the dropdown's toggle summarises what is ticked
    assert "data-menu-search" in html  # more than eight choices get a filter box
    assert "data-searchable" in html
    empty = str(FilterForm({})["service"])
    assert "All services" in empty
