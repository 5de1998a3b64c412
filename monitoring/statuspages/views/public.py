"""The public side: the status page, ``summary.json``, the Atom feed, and subscribe / confirm /
unsubscribe. No login, no session, no cookies: every reader of a page gets the same bytes, so a
proxy or CDN may cache them (``Cache-Control: public``). The forms post without a CSRF token: they
act for no signed-in person, and confirming or unsubscribing needs a signed link.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.cache import patch_cache_control
from django.utils.feedgenerator import Atom1Feed
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from monitoring.statuspages import selectors
from monitoring.statuspages.forms import SubscribeForm
from monitoring.statuspages.services import (
    SubscribeThrottled,
    subscriber_confirm,
    subscriber_subscribe,
    subscriber_unsubscribe,
)
from monitoring.statuspages.summary import summary

PUBLIC_MAX_AGE = 30


def _page_or_404(slug: str):
    page = selectors.published_page_or_none(slug=slug)
    if page is None:
        raise Http404("No status page here.")
    return page


def _public(response):
    patch_cache_control(response, public=True, max_age=PUBLIC_MAX_AGE)
    return response


def render_page(request, page, *, form=None, status=200):
    snap = selectors.snapshot(page)
    response = render(
        request,
        "monitoring/status/public.html",
        {
            **snap,
            "form": form or SubscribeForm(),
            "base_path": reverse("statuspages:public", args=[page.slug]),
        },
        status=status,
    )
    return _public(response) if status == 200 else response


@require_GET
def public_page(request, slug):
    return render_page(request, _page_or_404(slug))


@require_GET
def public_summary(request, slug):
    page = _page_or_404(slug)
    body = summary(selectors.snapshot(page), base_url=_base(request, page))
    return _public(JsonResponse(body, json_dumps_params={"indent": None}))


def _base(request, page) -> str:
    return request.build_absolute_uri(reverse("statuspages:public", args=[page.slug]))


@require_GET
def public_feed(request, slug):
    page = _page_or_404(slug)
    snap = selectors.snapshot(page)
    link = _base(request, page)
    feed = Atom1Feed(
        title=page.title,
        link=link,
        description=page.description or f"Incidents and maintenance of {page.title}",
        feed_url=request.build_absolute_uri(),
        language="en",
        feed_guid=f"{link}#feed",
    )
    notices = sorted(
        [*snap["active_incidents"], *snap["past_incidents"], *snap["maintenance"], *snap["past_maintenance"]],
        key=lambda n: n.updated_at,
        reverse=True,
    )
    for notice in notices:
        updates = list(notice.updates.all())
        body = "\n\n".join(
            f"{u.get_status_display()} ({u.created_at:%Y-%m-%d %H:%M} UTC): {u.body}" for u in updates
        )
        feed.add_item(
            title=f"{notice.title} ({notice.get_status_display()})",
            link=f"{link}#notice-{notice.pk}",
            description=body,
            unique_id=f"{link}#notice-{notice.pk}",
            pubdate=notice.created_at,
            updateddate=notice.updated_at,
            categories=[notice.get_kind_display()],
        )
    response = HttpResponse(content_type="application/atom+xml; charset=utf-8")
    feed.write(response, "utf-8")
    return _public(response)


@csrf_exempt
@require_POST
def subscribe(request, slug):
    page = _page_or_404(slug)
    form = SubscribeForm(request.POST)
    if not form.is_valid():
        return render_page(request, page, form=form, status=400)
    try:
        subscriber_subscribe(
            page=page, email=form.cleaned_data["email"], client_ip=request.META.get("REMOTE_ADDR", "")
        )
    except SubscribeThrottled as exc:
        form.add_error("email", exc.message_dict["email"])
        return render_page(request, page, form=form, status=429)
    except ValidationError as exc:
        form.add_error("email", exc.message_dict.get("email", exc.messages))
        return render_page(request, page, form=form, status=400)
    return render(
        request,
        "monitoring/status/message.html",
        {
            "page": page,
            "heading": "Check your inbox",
            "text": f"If {form.cleaned_data['email']} is not subscribed yet, a confirmation link is on its "
            f"way. The link stays valid for {settings.STATUS_CONFIRM_LINK_MAX_AGE_HOURS} hours.",
        },
        status=202,
    )


def _link_page(request, slug, token, *, action, heading, text, button, done_heading, done_text):
    page = _page_or_404(slug)
    if request.method == "GET":
        # Mail scanners open links; only the button's POST acts.
        return render(
            request,
            "monitoring/status/message.html",
            {"page": page, "heading": heading, "text": text, "button": button},
        )
    try:
        action(token=token)
    except ValidationError as exc:
        return render(
            request,
            "monitoring/status/message.html",
            {"page": page, "heading": "Link not valid", "text": " ".join(exc.messages)},
            status=400,
        )
    return render(
        request, "monitoring/status/message.html", {"page": page, "heading": done_heading, "text": done_text}
    )


@csrf_exempt
@require_http_methods(["GET", "POST"])
def confirm(request, slug, token):
    return _link_page(
        request,
        slug,
        token,
        action=subscriber_confirm,
        heading="Confirm your subscription",
        text="You will receive an e-mail for each incident update and maintenance notice of this page.",
        button="Confirm subscription",
        done_heading="Subscribed",
        done_text="Your subscription is confirmed. Every mail carries a link to unsubscribe.",
    )


@csrf_exempt
@require_http_methods(["GET", "POST"])
def unsubscribe(request, slug, token):
    # RFC 8058: mail clients POST "List-Unsubscribe=One-Click" here, without a page in between.
    return _link_page(
        request,
        slug,
        token,
        action=subscriber_unsubscribe,
        heading="Unsubscribe",
        text="Stop e-mails from this status page?",
        button="Unsubscribe",
        done_heading="Unsubscribed",
        done_text="You will receive no more e-mails from this status page.",
    )
