from django.apps import AppConfig


class ExperienceApisConfig(AppConfig):
    name = "experience_apis"
    verbose_name = "Experience APIs"
