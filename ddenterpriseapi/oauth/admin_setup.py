"""What a tenant's administrators run or enter for app-only sign-in, with the saved values filled in: the Exchange
Online PowerShell that lets a Microsoft application send as its mailboxes (over SMTP), or confines it to them
(through Microsoft Graph), and the domain-wide delegation a Google Workspace administrator grants a service account.
Data only: the page words and lays it out."""

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

# PowerShell ends a single-quoted string at any of these (ASCII and typographic single quotes); doubling one keeps it.
SINGLE_QUOTES = "'\u2018\u2019\u201a\u201b"
OBJECT_ID_PLACEHOLDER = "<Object ID of the Enterprise application>"
ACCESS_GROUP = "ddenterpriseapi mailboxes"  # the group an application access policy confines the application to
WORKSPACE_CONSOLE = "admin.google.com > Security > Access and data control > API controls > Manage Domain Wide " \
                    "Delegation > Add new"


@dataclass(frozen=True)
class Step:
    """One PowerShell line and, in a sentence, what it does."""

    command: str
    explanation: str


@dataclass(frozen=True)
class ExchangeSetup:
    """The PowerShell an Exchange administrator runs once, and whether the object ID is still to be filled in."""

    steps: list[Step]
    object_id_missing: bool

    @property
    def script(self) -> str:
        """The steps as one block to paste into PowerShell, each explained by a comment line above it."""
        return "\n".join(f"# {step.explanation}\n{step.command}" for step in self.steps)


@dataclass(frozen=True)
class WorkspaceDelegation:
    """What a Google Workspace administrator enters to let a service account send as the domain's mailboxes."""

    where: str
    client_id: str
    scopes: str


def quoted(value: str) -> str:
    """A PowerShell single-quoted string: nothing inside is expanded, and each single quote is doubled."""
    return "'" + "".join(char * 2 if char in SINGLE_QUOTES else char for char in value) + "'"


def exchange_session(tenant: str, environment: str | None) -> list[Step]:
    """The module installed and an administrator signed in to the organization's Exchange Online; `environment`
    names a national cloud's Exchange (Connect-ExchangeOnline's -ExchangeEnvironmentName), None for the global one."""
    connect = f"Connect-ExchangeOnline -Organization {quoted(tenant)}"
    if environment:
        connect += f" -ExchangeEnvironmentName {environment}"
    return [
        Step("Install-Module -Name ExchangeOnlineManagement",
             _l("Once per computer: installs the Exchange Online PowerShell module.")),
        Step(connect, _l("Signs in to your organization's Exchange Online, as an Exchange administrator.")),
    ]


def exchange_setup(tenant: str, client_id: str, object_id: str | None, mailboxes: list[str],
                   environment: str | None = None) -> ExchangeSetup:
    """The Exchange Online PowerShell for an application that sends as `mailboxes` over SMTP."""
    principal = quoted(object_id) if object_id else OBJECT_ID_PLACEHOLDER
    steps = [
        *exchange_session(tenant, environment),
        Step(f"New-ServicePrincipal -AppId {quoted(client_id)} -ObjectId {principal}",
             _l("Once: makes the application known to Exchange Online as a service principal.")),
    ]
    for mailbox in mailboxes:
        steps += [
            Step(f"Add-MailboxPermission -Identity {quoted(mailbox)} -User {principal} -AccessRights FullAccess",
                 _l("Lets the application send as %(mailbox)s.", mailbox=mailbox)),
            Step(f"Set-CASMailbox -Identity {quoted(mailbox)} -SmtpClientAuthenticationDisabled $false",
                 _l("Allows SMTP AUTH for %(mailbox)s: OAuth does not bypass this switch.", mailbox=mailbox)),
        ]
    return ExchangeSetup(steps, object_id_missing=not object_id)


def graph_access_policy(tenant: str, client_id: str, mailboxes: list[str],
                        environment: str | None = None) -> ExchangeSetup:
    """The Exchange Online PowerShell that confines an application holding Microsoft Graph's Mail.Send, which
    reaches every mailbox of the tenant, to `mailboxes`."""
    members = ",".join(quoted(mailbox) for mailbox in mailboxes) or "<mailbox>"
    steps = [
        *exchange_session(tenant, environment),
        Step(f"New-DistributionGroup -Name {quoted(ACCESS_GROUP)} -Type Security -Members {members}",
             _l("Once: a mail-enabled security group of the mailboxes the application may send as.")),
        Step(f"New-ApplicationAccessPolicy -AppId {quoted(client_id)} -PolicyScopeGroupId {quoted(ACCESS_GROUP)} "
             f"-AccessRight RestrictAccess -Description {quoted('ddenterpriseapi sends as these mailboxes only')}",
             _l("Confines the application to the group's mailboxes: without it, Mail.Send reaches every mailbox.")),
    ]
    steps += [Step(f"Test-ApplicationAccessPolicy -Identity {quoted(mailbox)} -AppId {quoted(client_id)}",
                   _l("Says AccessCheckResult: Granted for %(mailbox)s.", mailbox=mailbox)) for mailbox in mailboxes]
    return ExchangeSetup(steps, object_id_missing=False)


def workspace_delegation(client_id: str, scopes: str) -> WorkspaceDelegation:
    """Where a Workspace administrator authorizes the service account's client ID for the SMTP scope."""
    return WorkspaceDelegation(WORKSPACE_CONSOLE, client_id, scopes)
