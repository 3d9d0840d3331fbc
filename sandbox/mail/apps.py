from django.apps import AppConfig


class SandboxMailConfig(AppConfig):
    name = "sandbox.mail"
    label = "sandbox_mail"
    verbose_name = "Sandbox mail (SMTP server)"
