from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "opsplatform.accounts"
    label = "accounts"
    verbose_name = "Accounts and organizations"
