from django.apps import AppConfig


class SandboxReceiverConfig(AppConfig):
    name = "sandbox.receiver"
    label = "sandbox_receiver"
    verbose_name = "Sandbox webhook receiver (a client's server)"
