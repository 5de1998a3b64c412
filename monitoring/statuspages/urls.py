"""Status pages: the public pages under /status/ and the operators' pages under /monitors/status-pages/."""

from django.urls import path

from monitoring.statuspages.views import manage, public

app_name = "statuspages"

urlpatterns = [
    path("status/<slug:slug>/", public.public_page, name="public"),
    path("status/<slug:slug>/summary.json", public.public_summary, name="summary"),
    path("status/<slug:slug>/feed.atom", public.public_feed, name="feed"),
    path("status/<slug:slug>/subscribe/", public.subscribe, name="subscribe"),
    path("status/<slug:slug>/confirm/<str:token>/", public.confirm, name="confirm"),
    path("status/<slug:slug>/unsubscribe/<str:token>/", public.unsubscribe, name="unsubscribe"),
    path("monitors/status-pages/", manage.page_list, name="list"),
    path("monitors/status-pages/<int:pk>/", manage.page_detail, name="detail"),
    path("monitors/status-pages/<int:pk>/edit/", manage.page_edit, name="edit"),
    path("monitors/status-pages/<int:pk>/delete/", manage.page_remove, name="delete"),
    path("monitors/status-pages/<int:pk>/components/", manage.component_add, name="component_add"),
    path("monitors/status-pages/components/<int:pk>/", manage.component_edit, name="component_edit"),
    path(
        "monitors/status-pages/components/<int:pk>/delete/", manage.component_remove, name="component_delete"
    ),
    path("monitors/status-pages/<int:pk>/notices/<slug:kind>/", manage.notice_add, name="notice_add"),
    path("monitors/status-pages/notices/<int:pk>/update/", manage.notice_post, name="notice_update"),
    path("monitors/status-pages/<int:pk>/webhooks/", manage.webhook_add, name="webhook_add"),
    path("monitors/status-pages/webhooks/<int:pk>/delete/", manage.webhook_remove, name="webhook_delete"),
    path("monitors/status-pages/webhooks/<int:pk>/enable/", manage.webhook_enable, name="webhook_enable"),
]
