from process_apis.checks import leases_outlast_the_calls_they_cover, legacy_phone_region_is_known


def test_the_default_settings_pass():
    assert leases_outlast_the_calls_they_cover() == []


def test_a_lease_shorter_than_the_call_it_covers_is_an_error(settings):
    settings.SLACK_TIMEOUT = (3.0, 10.0)
    settings.NOTIFICATION_CLAIM_LEASE = 10
    settings.SERVICENOW_SYNC_LEASE = 15
    settings.EMAIL_TIMEOUT = 10.0
    settings.EMAIL_CLAIM_LEASE = 90
    settings.MIGRATION_CLAIM_LEASE = 600

    assert [problem.id for problem in leases_outlast_the_calls_they_cover()] == [
        "process_apis.E001",
        "process_apis.E002",
        "process_apis.E003",
        "process_apis.E004",
    ]


def test_the_legacy_phone_region_must_be_one_phonenumbers_knows(settings):
    assert legacy_phone_region_is_known() == []

    settings.LEGACY_PHONE_REGION = "UK"

    assert [problem.id for problem in legacy_phone_region_is_known()] == ["process_apis.E004"]
