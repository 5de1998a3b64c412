"""Forms of the sign-in, two-factor and settings pages.

Forms only validate input; every write goes through a service, whose ValidationError is copied
back onto the form with :func:`add_service_errors`.
"""

from datetime import timedelta
from functools import cache
from zoneinfo import available_timezones

from django import forms
from django.contrib.auth.password_validation import password_validators_help_text_html, validate_password
from django.core.exceptions import ValidationError
from django.utils import timezone

from opsplatform.accounts.models import User
from opsplatform.core.capabilities import Role, role_rank

# Present in some tz databases but no place anyone lives: "localtime" is the host's own setting.
_NOT_PLACES = {"localtime", "Factory"}


@cache
def time_zone_choices() -> list[tuple[str, str]]:
    return [(name, name) for name in sorted(available_timezones() - _NOT_PLACES)]


class TimeZoneField(forms.ChoiceField):
    def __init__(self, **kwargs):
        super().__init__(choices=time_zone_choices, **kwargs)


def roles_up_to(role: str | None) -> list[tuple[str, str]]:
    """Roles an actor may hand out: none above their own."""
    return [(value, label) for value, label in Role.choices if role_rank(value) <= role_rank(role)]


# --- sign-in and second factor ------------------------------------------------------------------


class LoginForm(forms.Form):
    username = forms.CharField(max_length=150, widget=forms.TextInput(attrs={"autocomplete": "username"}))
    password = forms.CharField(
        max_length=4096, strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "current-password"})
    )


class CodeForm(forms.Form):
    code = forms.CharField(
        label="Code",
        max_length=32,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "autocapitalize": "off", "spellcheck": "false"}
        ),
    )


class SetupCodeForm(CodeForm):
    code = forms.CharField(
        label="Six-digit code from your app",
        max_length=8,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "pattern": "[0-9 ]*"}
        ),
    )


class SignUpForm(forms.Form):
    username = forms.CharField(max_length=150, widget=forms.TextInput(attrs={"autocomplete": "username"}))
    display_name = forms.CharField(max_length=150, required=False)
    password1 = forms.CharField(
        label="Password",
        strip=False,
        max_length=4096,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=password_validators_help_text_html(),
    )
    password2 = forms.CharField(
        label="Password again",
        strip=False,
        max_length=4096,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def __init__(self, *args, email: str, **kwargs):
        self.email = email
        super().__init__(*args, **kwargs)

    def clean_username(self):
        username = self.cleaned_data["username"]
        User.username_validator(username)
        return username

    def clean(self):
        cleaned = super().clean()
        first, second = cleaned.get("password1"), cleaned.get("password2")
        if first and second and first != second:
            self.add_error("password2", "The two passwords differ.")
        elif first and cleaned.get("username"):
            candidate = User(username=cleaned["username"], email=self.email)
            try:
                validate_password(first, user=candidate)
            except ValidationError as exc:
                self.add_error("password1", exc)
        return cleaned


# --- settings -----------------------------------------------------------------------------------


class ProfileForm(forms.Form):
    display_name = forms.CharField(max_length=150, required=False)
    email = forms.EmailField(label="E-mail")
    time_zone = TimeZoneField(label="Time zone")


class TokenCreateForm(forms.Form):
    EXPIRY_CHOICES = [("", "Never"), ("7", "7 days"), ("30", "30 days"), ("90", "90 days"), ("365", "1 year")]

    name = forms.CharField(max_length=100)
    role = forms.ChoiceField(
        label="Role ceiling",
        required=False,
        help_text="The token never exceeds this role, nor your own.",
    )
    expires_in = forms.ChoiceField(label="Expires", choices=EXPIRY_CHOICES, required=False)

    def __init__(self, *args, actor_role: str | None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["role"].choices = [("", "Same as mine"), *roles_up_to(actor_role)]

    def expires_at(self):
        days = self.cleaned_data.get("expires_in")
        return timezone.now() + timedelta(days=int(days)) if days else None


class InviteForm(forms.Form):
    email = forms.EmailField(label="E-mail")
    role = forms.ChoiceField()

    def __init__(self, *args, actor_role: str | None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["role"].choices = roles_up_to(actor_role)
        self.fields["role"].initial = Role.VIEWER


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices)


class TeamForm(forms.Form):
    name = forms.CharField(max_length=150)
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)
    time_zone = TimeZoneField(label="Time zone", initial="UTC")


class TeamMembersForm(forms.Form):
    members = forms.ModelMultipleChoiceField(
        queryset=User.objects.none(), required=False, widget=forms.CheckboxSelectMultiple
    )

    def __init__(self, *args, organization, **kwargs):
        super().__init__(*args, **kwargs)
        # Only people of this organization can be picked; anyone else is "not a valid choice".
        self.fields["members"].queryset = User.objects.filter(
            memberships__organization=organization
        ).order_by("username")


class OrganizationForm(forms.Form):
    name = forms.CharField(max_length=150)
    time_zone = TimeZoneField(label="Time zone")
    require_2fa_for_admins = forms.BooleanField(
        label="Require two-factor authentication for owners and admins", required=False
    )


class SignInLinkForm(forms.Form):
    email = forms.EmailField(
        label="E-mail address", max_length=254, widget=forms.EmailInput(attrs={"autocomplete": "email"})
    )


class IdentityProviderForm(forms.Form):
    name = forms.CharField(max_length=100)
    issuer = forms.CharField(
        max_length=500, help_text="Its discovery document is at <issuer>/.well-known/openid-configuration."
    )
    client_id = forms.CharField(label="Client ID", max_length=255)
    client_secret = forms.CharField(
        max_length=1000,
        required=False,
        strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text="Stored encrypted. Leave empty to keep the current one.",
    )
    scopes = forms.CharField(max_length=255, initial="openid email profile")
    allowed_domains = forms.CharField(
        max_length=1000,
        required=False,
        help_text="E-mail domains allowed to sign in, e.g. example.com; empty allows any.",
    )
    role_claim = forms.CharField(
        max_length=100, required=False, help_text='A claim holding groups, e.g. "groups".'
    )
    role_mapping = forms.JSONField(
        required=False,
        initial=dict,
        help_text='Claim value → role, e.g. {"ops-admins": "admin"}; the highest match wins.',
    )
    default_role = forms.ChoiceField(
        choices=[(v, label) for v, label in Role.choices if v != Role.OWNER], initial=Role.VIEWER
    )
    jit_provisioning = forms.BooleanField(
        label="Create accounts at first sign-in", required=False, initial=True
    )
    enabled = forms.BooleanField(required=False, initial=True)

    def clean_role_mapping(self):
        return self.cleaned_data["role_mapping"] or {}
