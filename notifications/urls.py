"""On-call and notifications pages (``/oncall/…``, ``/settings/notifications/…``, ``/ack/…``)."""

from django.urls import path

from notifications.views import ack, calendar, channels, contacts, deliveries, policies, schedules, web_push

app_name = "notifications"

urlpatterns = [
    # Schedules
    path("oncall/", schedules.schedule_list, name="schedule_list"),
    path("oncall/schedules/<int:pk>/", schedules.schedule_detail, name="schedule_detail"),
    path("oncall/schedules/<int:pk>/edit/", schedules.schedule_edit, name="schedule_edit"),
    path("oncall/schedules/<int:pk>/delete/", schedules.schedule_delete, name="schedule_delete"),
    path("oncall/schedules/<int:pk>/layers/new/", schedules.layer_edit, name="layer_new"),
    path("oncall/schedules/<int:pk>/layers/<int:layer_pk>/", schedules.layer_edit, name="layer_edit"),
    path(
        "oncall/schedules/<int:pk>/layers/<int:layer_pk>/delete/", schedules.layer_delete, name="layer_delete"
    ),
    path("oncall/schedules/<int:pk>/overrides/", schedules.override_create, name="override_create"),
    path("oncall/overrides/<int:pk>/delete/", schedules.override_delete, name="override_delete"),
    path("oncall/overrides/<int:pk>/accept/", schedules.override_accept, name="override_accept"),
    path("oncall/schedules/<int:pk>/swaps/", schedules.swap_create, name="swap_create"),
    path("oncall/swaps/<int:pk>/delete/", schedules.swap_delete, name="swap_delete"),
    path("oncall/swaps/<int:pk>/accept/", schedules.swap_accept, name="swap_accept"),
    path("oncall/schedules/<int:pk>/feed/", schedules.schedule_feed_create, name="schedule_feed_create"),
    path("oncall/feeds/<int:pk>/revoke/", schedules.feed_revoke, name="feed_revoke"),
    # Calendar feeds: a secret URL, no session (calendar applications fetch it)
    path("oncall/calendar/<str:token>.ics", calendar.calendar_feed, name="calendar_feed"),
    # Escalation policies
    path("oncall/policies/", policies.policy_list, name="policy_list"),
    path("oncall/policies/<int:pk>/", policies.policy_detail, name="policy_detail"),
    path("oncall/policies/<int:pk>/steps/", policies.step_add, name="step_add"),
    path("oncall/policies/<int:pk>/steps/<int:step_pk>/delete/", policies.step_delete, name="step_delete"),
    path("oncall/policies/<int:pk>/attach/", policies.policy_attach, name="policy_attach"),
    path("oncall/policies/<int:pk>/delete/", policies.policy_delete, name="policy_delete"),
    # Channels and deliveries
    path("oncall/channels/", channels.channel_list, name="channel_list"),
    path("oncall/channels/<int:pk>/", channels.channel_detail, name="channel_detail"),
    path("oncall/channels/<int:pk>/rotate-secret/", channels.channel_rotate, name="channel_rotate"),
    path("oncall/channels/<int:pk>/delete/", channels.channel_delete, name="channel_delete"),
    path("oncall/deliveries/", deliveries.delivery_dashboard, name="deliveries"),
    path("oncall/notifications/<int:pk>/resend/", deliveries.resend, name="resend"),
    # The person's own settings
    path("settings/notifications/", contacts.notification_settings, name="settings"),
    path("settings/notifications/push/subscribe/", web_push.push_subscribe, name="push_subscribe"),
    path("settings/notifications/push/unsubscribe/", web_push.push_unsubscribe, name="push_unsubscribe"),
    path(
        "settings/notifications/contacts/<int:pk>/send-code/",
        contacts.contact_send_code,
        name="contact_send_code",
    ),
    path("settings/notifications/contacts/<int:pk>/verify/", contacts.contact_verify, name="contact_verify"),
    path("settings/notifications/contacts/<int:pk>/delete/", contacts.contact_delete, name="contact_delete"),
    path("settings/notifications/rules/", contacts.rule_add, name="rule_add"),
    path("settings/notifications/rules/<int:pk>/delete/", contacts.rule_delete, name="rule_delete"),
    path("settings/notifications/feed/", contacts.personal_feed_create, name="personal_feed_create"),
    # One-click acknowledge from a notification
    path("ack/<str:token>/", ack.acknowledge_link, name="ack"),
    path("ack/<str:token>/push/", web_push.acknowledge_push, name="ack_push"),
]
