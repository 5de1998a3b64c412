from django.urls import path

from opsplatform.accounts import (
    views,
    views_auth,
    views_invitations,
    views_members,
    views_settings,
    views_teams,
    views_tokens,
)

app_name = "accounts"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("organizations/switch/", views.switch_organization, name="switch_organization"),
    # Sign-in. The two-factor pages stay under /accounts/2fa/: the gate middleware exempts that prefix.
    path("accounts/login/", views_auth.login_view, name="login"),
    path("accounts/logout/", views_auth.logout_view, name="logout"),
    path("accounts/2fa/verify/", views_auth.two_factor_verify, name="two_factor_verify"),
    path("accounts/2fa/setup/", views_auth.two_factor_setup, name="two_factor_setup"),
    path("invitations/<str:token>/", views_invitations.invitation_accept, name="invitation_accept"),
    # The person's settings.
    path("settings/profile/", views_settings.profile, name="profile"),
    path("settings/profile/password/", views_settings.password_change, name="password_change"),
    path("settings/security/", views_settings.security, name="security"),
    path("settings/security/disable/", views_settings.security_disable, name="security_disable"),
    path(
        "settings/security/backup-codes/", views_settings.security_backup_codes, name="security_backup_codes"
    ),
    path("settings/tokens/", views_tokens.tokens, name="tokens"),
    path("settings/tokens/<int:pk>/revoke/", views_tokens.token_revoke, name="token_revoke"),
    # The organization's settings.
    path("settings/organization/", views_settings.organization_settings, name="organization_settings"),
    path("settings/members/", views_members.members, name="members"),
    path("settings/members/invite/", views_members.member_invite, name="member_invite"),
    path("settings/members/<int:pk>/role/", views_members.member_role, name="member_role"),
    path("settings/members/<int:pk>/remove/", views_members.member_remove, name="member_remove"),
    path("settings/invitations/<int:pk>/revoke/", views_members.invitation_revoke, name="invitation_revoke"),
    path("settings/teams/", views_teams.teams, name="teams"),
    path("settings/teams/<int:pk>/", views_teams.team_detail, name="team_detail"),
    path("settings/teams/<int:pk>/edit/", views_teams.team_edit, name="team_edit"),
    path("settings/teams/<int:pk>/delete/", views_teams.team_delete, name="team_delete"),
]
