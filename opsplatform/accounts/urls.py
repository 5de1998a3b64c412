from django.urls import path

from opsplatform.accounts.views import (
    auth,
    invitations,
    members,
    organization,
    profile,
    signin_link,
    sso,
    sso_settings,
    switch,
    teams,
    tokens,
)

app_name = "accounts"

# "/" (``accounts:dashboard``, the name every page links home by) is the home page, a top-layer app
# this package may not import: the composition root (opsplatform/urls.py) adds it to this namespace.
urlpatterns = [
    path("organizations/switch/", switch.switch_organization, name="switch_organization"),
    # Sign-in. The two-factor pages stay under /accounts/2fa/: the gate middleware exempts that prefix.
    path("accounts/login/", auth.login_view, name="login"),
    path("accounts/logout/", auth.logout_view, name="logout"),
    path("accounts/login/link/", signin_link.signin_link_request, name="signin_link_request"),
    path("accounts/login/link/<str:token>/", signin_link.signin_link_open, name="signin_link_open"),
    path("accounts/sso/", sso.sso_start, name="sso_start"),
    path("accounts/sso/callback/", sso.sso_callback, name="sso_callback"),
    path("accounts/sso/<slug:org_slug>/", sso.sso_organization, name="sso_organization"),
    path("accounts/sso/<slug:org_slug>/<slug:provider_slug>/", sso.sso_begin, name="sso_begin"),
    path("accounts/2fa/verify/", auth.two_factor_verify, name="two_factor_verify"),
    path("accounts/2fa/setup/", auth.two_factor_setup, name="two_factor_setup"),
    path("invitations/<str:token>/", invitations.invitation_accept, name="invitation_accept"),
    # The person's settings.
    path("settings/profile/", profile.profile, name="profile"),
    path("settings/profile/password/", profile.password_change, name="password_change"),
    path("settings/security/", profile.security, name="security"),
    path("settings/security/disable/", profile.security_disable, name="security_disable"),
    path("settings/security/backup-codes/", profile.security_backup_codes, name="security_backup_codes"),
    path("settings/tokens/", tokens.tokens, name="tokens"),
    path("settings/tokens/<int:pk>/revoke/", tokens.token_revoke, name="token_revoke"),
    # The organization's settings.
    path("settings/organization/", organization.organization_settings, name="organization_settings"),
    path("settings/sso/", sso_settings.sso_settings, name="sso_settings"),
    path("settings/sso/required/", sso_settings.sso_required_toggle, name="sso_required"),
    path("settings/sso/<int:pk>/", sso_settings.sso_settings, name="sso_provider"),
    path("settings/members/", members.members, name="members"),
    path("settings/members/invite/", members.member_invite, name="member_invite"),
    path("settings/members/<int:pk>/role/", members.member_role, name="member_role"),
    path("settings/members/<int:pk>/remove/", members.member_remove, name="member_remove"),
    path("settings/invitations/<int:pk>/revoke/", members.invitation_revoke, name="invitation_revoke"),
    path("settings/teams/", teams.teams, name="teams"),
    path("settings/teams/<int:pk>/", teams.team_detail, name="team_detail"),
    path("settings/teams/<int:pk>/edit/", teams.team_edit, name="team_edit"),
    path("settings/teams/<int:pk>/delete/", teams.team_delete, name="team_delete"),
]
