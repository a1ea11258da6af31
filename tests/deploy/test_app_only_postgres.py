"""App-only sign-in on PostgreSQL: two console instances sharing one database send at once, and the token endpoint is
called once between them (the app_token row's lease, whose first creation both race for)."""

from concurrent.futures import ThreadPoolExecutor

import pytest

from ddenterpriseapi.extensions import db
from ddenterpriseapi.models import AppToken, MailServer
from tests.helpers import CLIENT, MAILBOX, app_tokens, save_oauth_settings
from tests.oauth.test_app_tokens import send_in_thread

pytestmark = pytest.mark.postgres
SENDS = 12


def test_two_instances_share_one_app_token(make_app, postgres_db, microsoft_server, make_smtp, pki):
    config = dict(SQLALCHEMY_DATABASE_URI=postgres_db.url, SMTP_CA_BUNDLE=pki.ca_cert_path, SMTP_TIMEOUT=3,
                  OAUTH_PROVIDER_OVERRIDES={"microsoft": microsoft_server.provider_override()})
    first, second = make_app(**config), make_app(**config)  # one instance folder: the same keys, as deploy.md says
    microsoft_server.grant_mailbox(CLIENT[0], MAILBOX[0])
    save_oauth_settings(first, provider="microsoft", sign_in="application", tenant="contoso.onmicrosoft.com",
                        client_id=CLIENT[0], client_secret=CLIENT[1], mailboxes=MAILBOX[0])
    smtp = make_smtp(microsoft_server)
    with first.app_context():
        db.session.add(MailServer(id=1, host=smtp.host, port=smtp.port, security=smtp.security,
                                  authentication="oauth"))
        db.session.commit()
    with second.app_context():
        assert db.session.query(AppToken).count() == 0  # both race to create the row

    microsoft_server.token_delay = 0.5  # every send arrives while the first token call is under way
    with ThreadPoolExecutor(max_workers=SENDS) as pool:
        sent = list(pool.map(lambda i: send_in_thread((first, second)[i % 2], i), range(SENDS)))

    assert len(set(sent)) == SENDS and len(smtp.wait_for_messages(SENDS)) == SENDS
    assert [call["ok"] for call in microsoft_server.app_token_requests()] == [True]
    assert set(app_tokens(second)) == {""}
