"""The provider presets: the registry built from them and the operator's overrides, and what each preset says."""

import pytest

from ddenterpriseapi.extensions import current_runtime
from ddenterpriseapi.mail.errors import fix_for_reply, rejects_token
from ddenterpriseapi.providers import PRESETS, build_registry, endpoints_for_script, parse_overrides, smtp_for_script


def test_registry_lists_the_presets_in_order_with_their_labels():
    registry = build_registry({})
    assert list(registry) == ["google", "microsoft", "custom"]
    assert [str(provider.label) for provider in registry.values()] == ["Google", "Microsoft", "Custom"]
    assert registry["google"] == PRESETS["google"]


def test_overrides_replace_only_the_fields_they_name():
    registry = build_registry(parse_overrides('{"microsoft": {"smtp_host": "smtp.office365.us", "smtp_port": 25}}'))
    assert (registry["microsoft"].smtp_host, registry["microsoft"].smtp_port) == ("smtp.office365.us", 25)
    assert registry["microsoft"].token_url == PRESETS["microsoft"].token_url
    assert registry["google"] == PRESETS["google"]


def test_overrides_of_unknown_providers_are_refused():
    with pytest.raises(ValueError, match="unknown provider 'yahoo'"):
        parse_overrides({"yahoo": {"token_url": "https://example.com/token"}})


def test_the_app_serves_the_registry_with_its_overrides(make_app):
    app = make_app(OAUTH_PROVIDER_OVERRIDES={"google": {"scopes": "https://mail.google.com/"}})
    with app.app_context():
        assert current_runtime().providers["google"].scopes == "https://mail.google.com/"
        assert current_runtime().providers["microsoft"] == PRESETS["microsoft"]


def test_endpoints_name_the_tenant_or_common():
    microsoft = PRESETS["microsoft"]
    assert microsoft.endpoint(microsoft.token_url, "contoso.com") == (
        "https://login.microsoftonline.com/contoso.com/oauth2/v2.0/token")
    assert microsoft.endpoint(microsoft.authorization_url, None) == (
        "https://login.microsoftonline.com/common/oauth2/v2.0/authorize")
    assert microsoft.endpoint(microsoft.revocation_url, "contoso.com") is None
    assert PRESETS["google"].endpoint(PRESETS["google"].token_url, "ignored") == "https://oauth2.googleapis.com/token"


def test_token_hosts_are_the_preset_servers_or_the_administrators_list():
    assert PRESETS["google"].token_hosts() == {"smtp.gmail.com"}
    assert PRESETS["microsoft"].token_hosts() == {
        "smtp.office365.com", "smtp-mail.outlook.com", "smtp.office365.us", "smtp.partner.outlook.cn"}
    assert PRESETS["custom"].token_hosts("SMTP.Example.com., mail.example.org") == {
        "smtp.example.com", "mail.example.org"}
    assert PRESETS["custom"].token_hosts(None) == set()


def test_accepts_issuer_of_any_tenant_but_not_of_another_server():
    microsoft, google = PRESETS["microsoft"], PRESETS["google"]
    assert microsoft.accepts_issuer("https://login.microsoftonline.com/9188040d-6c67-4c5b-b112/v2.0", "")
    assert not microsoft.accepts_issuer("https://login.microsoftonline.com/a/b/v2.0", "")
    assert google.accepts_issuer("https://accounts.google.com", "")
    assert not google.accepts_issuer("https://accounts.google.com.evil.example", "")


def test_custom_accepts_the_issuer_on_the_authorization_server_only():
    custom = PRESETS["custom"]
    assert custom.accepts_issuer("https://idp.example.com/realms/mail", "https://idp.example.com/auth")
    assert not custom.accepts_issuer("https://other.example.com", "https://idp.example.com/auth")
    assert not custom.accepts_issuer("http://idp.example.com", "https://idp.example.com/auth")


def test_what_differs_between_providers_is_in_the_presets():
    google, microsoft, custom = PRESETS["google"], PRESETS["microsoft"], PRESETS["custom"]
    assert "7 days" in str(google.reauthorization_hint)
    assert microsoft.reauthorization_hint == custom.reauthorization_hint == ""
    assert microsoft.admin_consent_scope == "https://outlook.office365.com/.default"
    assert google.admin_consent_scope is None and custom.admin_consent_scope is None
    assert [p.uses_tenant for p in (google, microsoft, custom)] == [False, True, False]
    assert [p.editable_endpoints for p in (google, microsoft, custom)] == [False, False, True]


def test_what_the_page_scripts_receive():
    registry = build_registry({})
    assert endpoints_for_script(registry)["microsoft"] == {
        "authorization_url": "https://login.microsoftonline.com/{tenant}/oauth2/v2.0/authorize",
        "token_url": "https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token",
        "scopes": "https://outlook.office.com/SMTP.Send offline_access openid email",
        "editable": False, "uses_tenant": True, "testing": False}
    assert endpoints_for_script(registry)["custom"]["editable"] is True
    assert endpoints_for_script(registry)["google"]["testing"] is True  # the Testing checkbox shows for Google
    microsoft_hosts = ["smtp.office365.com", "smtp.office365.us", "smtp.partner.outlook.cn"]
    assert smtp_for_script(registry) == {
        "google": {"host": "smtp.gmail.com", "port": 587, "security": "starttls", "hosts": ["smtp.gmail.com"]},
        "microsoft": {"host": "smtp.office365.com", "port": 587, "security": "starttls", "hosts": microsoft_hosts}}
    in_usgov = smtp_for_script(registry, registry["microsoft"].in_cloud("usgov"))
    assert in_usgov["microsoft"] == {"host": "smtp.office365.us", "port": 587, "security": "starttls",
                                     "hosts": microsoft_hosts}  # the chosen cloud's server
    assert in_usgov["google"] == smtp_for_script(registry)["google"]


@pytest.mark.parametrize(("reply", "rejected", "fix"), [
    ("535 5.7.3 Authentication unsuccessful", True, "Microsoft refused the token"),
    ("535-5.7.8 Username and Password not accepted.", True, "Google refused the credentials"),
    ("535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled", False, "SMTP AUTH is turned off"),
    ("530 5.7.0 Must issue a STARTTLS command first", False, "The server requires authentication"),
    ("550 5.1.1 No such user", False, ""),
])
def test_smtp_replies_say_whether_the_token_was_refused_and_what_to_do(app, reply, rejected, fix):
    with app.test_request_context():
        assert rejects_token(reply) is rejected
        assert fix_for_reply(reply).startswith(fix)


def test_a_token_refused_by_another_providers_server_is_not_that_servers_problem(app):
    google_reply, microsoft_reply = "535-5.7.8 Username and Password not accepted.", "535 5.7.3 Authentication failed"
    microsoft, custom = PRESETS["microsoft"], PRESETS["custom"]
    with app.test_request_context():
        assert not rejects_token(google_reply, microsoft)
        assert fix_for_reply(google_reply, microsoft).startswith("This is a Google server, but the token comes from "
                                                                 "Microsoft")
        assert rejects_token(microsoft_reply, microsoft)
        assert fix_for_reply(microsoft_reply, microsoft).startswith("Microsoft refused the token")
        assert rejects_token(google_reply, custom)  # a Custom provider may be Google's own


@pytest.mark.parametrize("cloud, login, smtp_host, resource, graph", [
    ("global", "https://login.microsoftonline.com", "smtp.office365.com", "https://outlook.office365.com",
     "https://graph.microsoft.com"),
    ("usgov", "https://login.microsoftonline.us", "smtp.office365.us", "https://outlook.office365.us",
     "https://graph.microsoft.us"),
    ("china", "https://login.chinacloudapi.cn", "smtp.partner.outlook.cn", "https://partner.outlook.cn",
     "https://microsoftgraph.chinacloudapi.cn"),
])
def test_a_microsoft_cloud_has_its_own_servers(cloud, login, smtp_host, resource, graph):
    microsoft = build_registry({})["microsoft"].in_cloud(cloud)
    assert (microsoft.api_url, microsoft.api_scope, microsoft.api_app_scope) == (
        f"{graph}/v1.0", f"{graph}/Mail.Send", f"{graph}/.default")
    assert microsoft.api_resource() == f"{graph}/Mail.Send"  # a token of its own, apart from SMTP's
    assert microsoft.endpoint(microsoft.token_url, "contoso.com") == f"{login}/contoso.com/oauth2/v2.0/token"
    assert microsoft.authorization_url.startswith(login) and microsoft.admin_consent_url.startswith(login)
    assert microsoft.smtp_host == smtp_host
    assert microsoft.app_scope == microsoft.admin_consent_scope == f"{resource}/.default"
    assert microsoft.accepts_issuer(f"{login}/9188040d-6c67-4c5b-b112-36a304b66dad/v2.0", "")


def test_a_cloud_leaves_the_operators_overrides_alone():
    microsoft = build_registry({"microsoft": {"token_url": "http://127.0.0.1:9/token"}})["microsoft"]
    in_china = microsoft.in_cloud("china")
    assert in_china.token_url == "http://127.0.0.1:9/token"
    assert in_china.smtp_host == "smtp.partner.outlook.cn"


def test_each_provider_offers_its_https_api_and_google_shares_the_smtp_token():
    registry = build_registry({})
    assert registry["microsoft"].transports == ("smtp", "graph")
    assert registry["google"].transports == ("smtp", "gmail_api")
    assert registry["custom"].transports == ("smtp",)
    assert registry["google"].api_resource() is None  # https://mail.google.com/ serves SMTP and the Gmail API


def test_providers_without_clouds_ignore_the_choice():
    google = build_registry({})["google"]
    assert google.in_cloud("usgov") is google
