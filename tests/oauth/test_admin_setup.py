"""The generated Exchange Online PowerShell and Workspace delegation: real values in, quoted so PowerShell takes them
as they are."""

import pytest

from ddenterpriseapi.oauth.admin_setup import OBJECT_ID_PLACEHOLDER, exchange_setup, quoted, workspace_delegation


@pytest.fixture(autouse=True)
def request_context(app):
    with app.test_request_context():
        yield


@pytest.mark.parametrize("value, expected", [
    ("reports@contoso.com", "'reports@contoso.com'"),
    ("o'brien@contoso.com", "'o''brien@contoso.com'"),
    ("o\u2019brien@contoso.com", "'o\u2019\u2019brien@contoso.com'"),  # PowerShell ends a string at ’ too
    ("\u2018a\u201ab\u201b", "'\u2018\u2018a\u201a\u201ab\u201b\u201b'"),
    ("$(Remove-Item C:\\) `n $env:PATH", "'$(Remove-Item C:\\) `n $env:PATH'"),  # single quotes expand nothing
])
def test_values_are_single_quoted_for_powershell(value, expected):
    assert quoted(value) == expected


def test_a_national_cloud_names_its_exchange_environment():
    setup = exchange_setup("contoso.us", "app-id", None, ["a@contoso.us"], environment="O365USGovGCCHigh")
    assert setup.steps[1].command == "Connect-ExchangeOnline -Organization 'contoso.us' -ExchangeEnvironmentName " \
                                     "O365USGovGCCHigh"
    assert setup.object_id_missing
    assert setup.steps[2].command == f"New-ServicePrincipal -AppId 'app-id' -ObjectId {OBJECT_ID_PLACEHOLDER}"


def test_each_mailbox_gets_its_permission_and_smtp_auth():
    setup = exchange_setup("contoso.com", "app-id", "obj-id", ["a@contoso.com", "b@contoso.com"])
    commands = [step.command for step in setup.steps]
    assert commands[3:] == [
        "Add-MailboxPermission -Identity 'a@contoso.com' -User 'obj-id' -AccessRights FullAccess",
        "Set-CASMailbox -Identity 'a@contoso.com' -SmtpClientAuthenticationDisabled $false",
        "Add-MailboxPermission -Identity 'b@contoso.com' -User 'obj-id' -AccessRights FullAccess",
        "Set-CASMailbox -Identity 'b@contoso.com' -SmtpClientAuthenticationDisabled $false",
    ]
    lines = setup.script.splitlines()
    assert lines[0].startswith("# Once per computer") and lines[1] == "Install-Module -Name ExchangeOnlineManagement"
    assert lines[6] == "# Lets the application send as a@contoso.com."
    assert not setup.object_id_missing


def test_workspace_delegation_names_the_client_and_the_scope():
    delegation = workspace_delegation("1234567890", "https://mail.google.com/")
    assert (delegation.client_id, delegation.scopes) == ("1234567890", "https://mail.google.com/")
    assert delegation.where.startswith("admin.google.com > Security > Access and data control > API controls")
