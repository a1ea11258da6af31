"""App-only sign-in sends as listed mailboxes: a message goes out as the mailbox of its From address, or, by the
OAuth page's setting, as the default mailbox with its sender in Reply-To; otherwise it is refused at once (422 from
the API, 550 from the relay) and nothing is stored."""

import pytest

from tests.helpers import outbox_count, post_mail, sign_in_as_application, stored_message


@pytest.fixture
def api(sending, admin_client, oauth_app):
    _smtp, key = sending
    return lambda body: post_mail(admin_client.application.test_client(), key, body)


@pytest.mark.parametrize("sender, mailbox", [("reports@example.com", "reports@example.com"),
                                             ("billing@example.com", "Billing@Example.com")])
def test_a_listed_sender_goes_out_as_its_own_mailbox(api, oauth_app, sender, mailbox):
    sign_in_as_application(oauth_app)
    response = api({"from": sender, "to": ["boss@example.org"], "subject": "Report", "text": "x"})
    assert response.status_code == 202, response.json
    row, message = stored_message(oauth_app, response.json["id"])
    assert row["sender"] == mailbox  # as listed
    assert message["From"].addresses[0].addr_spec.casefold() == sender.casefold()
    assert message["Reply-To"] is None


def test_an_unlisted_sender_is_refused_with_what_to_do(api, oauth_app):
    sign_in_as_application(oauth_app)
    before = outbox_count(oauth_app)
    response = api({"from": "jenkins@corp.example", "to": ["boss@example.org"], "subject": "Report", "text": "x"})
    assert response.status_code == 422
    assert "jenkins@corp.example is not one of the mailboxes" in response.json["error"]
    assert "reports@example.com, Billing@Example.com" in response.json["error"]
    assert outbox_count(oauth_app) == before


def test_an_unlisted_sender_may_go_out_as_the_default_mailbox_with_reply_to(api, oauth_app):
    sign_in_as_application(oauth_app, unlisted_sender="default_mailbox")
    response = api({"from": "jenkins@corp.example", "to": ["boss@example.org"], "subject": "Report", "text": "x"})
    assert response.status_code == 202, response.json
    row, message = stored_message(oauth_app, response.json["id"])
    assert row["sender"] == "reports@example.com"
    assert message["From"].addresses[0].addr_spec == "reports@example.com"
    assert message["Reply-To"].addresses[0].addr_spec == "jenkins@corp.example"


def test_a_message_naming_no_sender_goes_out_as_the_default_mailbox(api, oauth_app, mail, sending):
    smtp, _key = sending
    mail.save(smtp, sender_name="Reports", sender_address="")
    sign_in_as_application(oauth_app)
    response = api({"to": ["boss@example.org"], "subject": "Report", "text": "x"})
    assert response.status_code == 202, response.json
    row, message = stored_message(oauth_app, response.json["id"])
    assert row["sender"] == "reports@example.com" == message["From"].addresses[0].addr_spec


def test_delegated_sign_in_routes_nothing(api, oauth_app):
    response = api({"from": "jenkins@corp.example", "to": ["boss@example.org"], "subject": "Report", "text": "x"})
    assert response.status_code == 202
    assert stored_message(oauth_app, response.json["id"])[0]["sender"] == "jenkins@corp.example"
