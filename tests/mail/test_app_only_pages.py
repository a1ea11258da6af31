"""App-only sign-in set up the way an administrator does it, through the OAuth page (a certificate pasted, a key
file uploaded) and the Email server page, to a message the API accepts and the provider's SMTP server receives,
signed in as the mailbox with a token of the grant chosen."""

import io

from tests.helpers import ADMIN, CLIENT, MAILBOX, create_api_key, csrf_from, queue_mail, wait_for_status
from tests.servers.app_credentials import app_certificate, service_account

OAUTH_PAGE = "/ddenterpriseapi/configuration/oauth"


def save_oauth_page(client, files=None, **fields):
    """Post the OAuth page as the browser does (multipart, with its CSRF token and the administrator's password)."""
    data = {"current_password": ADMIN[1], "unlisted_sender": "refuse", "cloud": "global", "save": "1", **fields}
    for name, (filename, text) in (files or {}).items():
        data[name] = (io.BytesIO(text.encode()), filename)
    data["csrf_token"] = csrf_from(client.get(OAUTH_PAGE))
    response = client.post(OAUTH_PAGE, data=data, content_type="multipart/form-data")
    assert response.status_code == 302, response.get_data(as_text=True)


def test_a_microsoft_application_with_a_certificate_from_the_pages_to_the_mailbox(
        microsoft_server, admin_client, mail, make_smtp, oauth_app, worker):
    certificate = app_certificate()
    microsoft_server.register_app_certificate(CLIENT[0], certificate.certificate_pem)
    microsoft_server.grant_mailbox(CLIENT[0], MAILBOX[0])
    save_oauth_page(admin_client, files={"client_certificate_file": ("app.pem", certificate.pem)},
                    provider="microsoft", sign_in="application", tenant="contoso.onmicrosoft.com",
                    client_id=CLIENT[0], mailboxes=MAILBOX[0])
    smtp = make_smtp(microsoft_server)
    assert mail.save(smtp).status_code == 302
    message_id = queue_mail(admin_client, create_api_key(admin_client), "Nightly report")
    wait_for_status(oauth_app, message_id, "sent")
    (received,) = smtp.wait_for_messages(1)
    assert (received.auth_mechanism, received.auth_login, received.mail_from) == ("XOAUTH2", MAILBOX[0], MAILBOX[0])
    (request,) = microsoft_server.app_token_requests()
    assert (request["grant_type"], request["client_authentication"]) == ("client_credentials", "private_key_jwt")


def test_a_google_service_account_from_the_pages_to_the_mailbox(
        google_server, admin_client, mail, make_smtp, oauth_app, worker):
    account = service_account(f"{google_server.base_url}/token")
    google_server.register_service_account(account.client_email, account.client_id, account.private_key_id,
                                           account.public_key_pem, "example.com")
    google_server.grant_domain_wide_delegation(account.client_id, "https://mail.google.com/")
    save_oauth_page(admin_client, files={"service_account_key_file": ("key.json", account.key_file)},
                    provider="google", sign_in="service_account", mailboxes=MAILBOX[0])
    smtp = make_smtp(google_server, style="google")
    assert mail.save(smtp).status_code == 302
    message_id = queue_mail(admin_client, create_api_key(admin_client), "Nightly report")
    wait_for_status(oauth_app, message_id, "sent")
    (received,) = smtp.wait_for_messages(1)
    assert (received.auth_mechanism, received.auth_login) == ("XOAUTH2", MAILBOX[0])
    (request,) = google_server.app_token_requests()
    assert (request["grant_type"], request["subject"]) == ("urn:ietf:params:oauth:grant-type:jwt-bearer", MAILBOX[0])


def test_a_microsoft_application_with_a_secret_from_the_pages_to_the_mailbox(
        microsoft_server, admin_client, mail, make_smtp, oauth_app, worker):
    microsoft_server.grant_mailbox(CLIENT[0], MAILBOX[0])
    save_oauth_page(admin_client, provider="microsoft", sign_in="application", tenant="contoso.onmicrosoft.com",
                    client_id=CLIENT[0], client_secret=CLIENT[1], mailboxes=MAILBOX[0])
    smtp = make_smtp(microsoft_server)
    assert mail.save(smtp).status_code == 302
    message_id = queue_mail(admin_client, create_api_key(admin_client), "Nightly report")
    row = wait_for_status(oauth_app, message_id, "sent", "held")
    assert row["status"] == "sent", row["last_error"]
    assert smtp.wait_for_messages(1)[0].auth_login == MAILBOX[0]
    (request,) = microsoft_server.app_token_requests()
    assert (request["client_authentication"], request["scope"]) == (
        "client_secret", "https://outlook.office365.com/.default")
