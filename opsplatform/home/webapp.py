"""The installable web app: its manifest, its service worker (served from the root so that it may
control every page), and the page it shows offline."""

from django.conf import settings
from django.contrib.staticfiles import finders
from django.http import HttpResponse, JsonResponse
from django.shortcuts import render
from django.templatetags.static import static
from django.views.decorators.cache import cache_control

# Bumped with every change to static/js/sw.js that needs old caches dropped.
CACHE_VERSION = "1"


@cache_control(max_age=3600)
def manifest(request):
    return JsonResponse(
        {
            "name": "OpsPlatform",
            "short_name": "Ops",
            "description": "Incidents, on-call and paging.",
            "id": "/",
            "start_url": "/",
            "scope": "/",
            "display": "standalone",
            "background_color": "#ffffff",
            "theme_color": "#2f5bd3",
            "icons": [
                {
                    "src": static("img/icon-192.png"),
                    "sizes": "192x192",
                    "type": "image/png",
                    "purpose": "any",
                },
                {
                    "src": static("img/icon-512.png"),
                    "sizes": "512x512",
                    "type": "image/png",
                    "purpose": "any",
                },
                {
                    "src": static("img/icon-512.png"),
                    "sizes": "512x512",
                    "type": "image/png",
                    "purpose": "maskable",
                },
            ],
        },
        content_type="application/manifest+json",
    )


# Browsers check the worker for updates themselves; a short cache keeps that check cheap.
@cache_control(max_age=0, no_cache=True)
def service_worker(request):
    with open(finders.find("js/sw.js"), encoding="utf-8") as script:
        body = (
            script.read()
            .replace("__CACHE_VERSION__", CACHE_VERSION)
            .replace("__STATIC_URL__", settings.STATIC_URL)
        )
    response = HttpResponse(body, content_type="text/javascript")
    response["Service-Worker-Allowed"] = "/"
    return response


def offline(request):
    return render(request, "offline.html")
