"""Roles and the capabilities they grant: the one place that says who may do what.

Services and views ask for a capability (``incident.acknowledge``), never for a role name, so a
role can be re-cut without touching any caller.
"""

from django.db import models


class Role(models.TextChoices):
    OWNER = "owner", "Owner"
    ADMIN = "admin", "Admin"
    MANAGER = "manager", "Manager"
    OPERATOR = "operator", "Operator"
    VIEWER = "viewer", "Viewer"


# Higher rank includes every capability of the lower ranks.
ROLE_RANK = {Role.VIEWER: 0, Role.OPERATOR: 1, Role.MANAGER: 2, Role.ADMIN: 3, Role.OWNER: 4}


class Capability:
    ORGANIZATION_VIEW = "organization.view"
    ORGANIZATION_MANAGE = "organization.manage"
    MEMBER_VIEW = "member.view"
    MEMBER_INVITE = "member.invite"
    MEMBER_MANAGE = "member.manage"
    MEMBER_MANAGE_OWNERS = "member.manage_owners"
    TEAM_VIEW = "team.view"
    TEAM_MANAGE = "team.manage"
    TOKEN_CREATE = "token.create"
    TOKEN_MANAGE = "token.manage"
    AUDIT_VIEW = "audit.view"
    SERVICE_VIEW = "service.view"
    SERVICE_MANAGE = "service.manage"
    INCIDENT_VIEW = "incident.view"
    INCIDENT_CREATE = "incident.create"
    INCIDENT_ACKNOWLEDGE = "incident.acknowledge"
    INCIDENT_RESOLVE = "incident.resolve"
    INCIDENT_MANAGE = "incident.manage"
    SLA_MANAGE = "sla.manage"
    INTEGRATION_VIEW = "integration.view"
    INTEGRATION_MANAGE = "integration.manage"
    SCHEDULE_MANAGE = "schedule.manage"
    ESCALATION_MANAGE = "escalation.manage"
    CHANNEL_MANAGE = "channel.manage"
    WORKFLOW_VIEW = "workflow.view"
    WORKFLOW_RUN = "workflow.run"
    WORKFLOW_MANAGE = "workflow.manage"
    TASK_MANAGE = "task.manage"
    ANALYTICS_VIEW = "analytics.view"
    KNOWLEDGE_VIEW = "knowledge.view"
    KNOWLEDGE_WRITE = "knowledge.write"
    KNOWLEDGE_MANAGE = "knowledge.manage"
    POSTMORTEM_VIEW = "postmortem.view"
    POSTMORTEM_EDIT = "postmortem.edit"
    MONITOR_VIEW = "monitor.view"
    MONITOR_MANAGE = "monitor.manage"
    AUTOMATION_MANAGE = "automation.manage"


# capability -> the lowest role that holds it
MINIMUM_ROLE = {
    Capability.ORGANIZATION_VIEW: Role.VIEWER,
    Capability.ORGANIZATION_MANAGE: Role.ADMIN,
    Capability.MEMBER_VIEW: Role.VIEWER,
    Capability.MEMBER_INVITE: Role.ADMIN,
    Capability.MEMBER_MANAGE: Role.ADMIN,
    Capability.MEMBER_MANAGE_OWNERS: Role.OWNER,
    Capability.TEAM_VIEW: Role.VIEWER,
    Capability.TEAM_MANAGE: Role.MANAGER,
    Capability.TOKEN_CREATE: Role.VIEWER,
    Capability.TOKEN_MANAGE: Role.ADMIN,
    Capability.AUDIT_VIEW: Role.MANAGER,
    Capability.SERVICE_VIEW: Role.VIEWER,
    Capability.SERVICE_MANAGE: Role.MANAGER,
    Capability.INCIDENT_VIEW: Role.VIEWER,
    Capability.INCIDENT_CREATE: Role.OPERATOR,
    Capability.INCIDENT_ACKNOWLEDGE: Role.OPERATOR,
    Capability.INCIDENT_RESOLVE: Role.OPERATOR,
    Capability.INCIDENT_MANAGE: Role.OPERATOR,
    Capability.SLA_MANAGE: Role.MANAGER,
    Capability.INTEGRATION_VIEW: Role.OPERATOR,
    Capability.INTEGRATION_MANAGE: Role.MANAGER,
    Capability.SCHEDULE_MANAGE: Role.MANAGER,
    Capability.ESCALATION_MANAGE: Role.MANAGER,
    Capability.CHANNEL_MANAGE: Role.ADMIN,
    Capability.WORKFLOW_VIEW: Role.VIEWER,
    Capability.WORKFLOW_RUN: Role.OPERATOR,
    Capability.WORKFLOW_MANAGE: Role.MANAGER,
    Capability.TASK_MANAGE: Role.OPERATOR,
    Capability.ANALYTICS_VIEW: Role.MANAGER,
    Capability.KNOWLEDGE_VIEW: Role.VIEWER,
    Capability.KNOWLEDGE_WRITE: Role.OPERATOR,
    Capability.KNOWLEDGE_MANAGE: Role.MANAGER,
    Capability.POSTMORTEM_VIEW: Role.VIEWER,
    Capability.POSTMORTEM_EDIT: Role.OPERATOR,
    Capability.MONITOR_VIEW: Role.VIEWER,
    Capability.MONITOR_MANAGE: Role.MANAGER,
    Capability.AUTOMATION_MANAGE: Role.MANAGER,
}

ALL_CAPABILITIES = frozenset(MINIMUM_ROLE)

# Capabilities that an object-level grant (django-guardian) can confer on one object, and the
# Django permission action ("view"/"change") that stands for it on that object's model.
OBJECT_GRANT_ACTION = {
    Capability.TEAM_VIEW: "view",
    Capability.TEAM_MANAGE: "change",
    Capability.SERVICE_VIEW: "view",
    Capability.SERVICE_MANAGE: "change",
    Capability.INCIDENT_VIEW: "view",
    Capability.INCIDENT_ACKNOWLEDGE: "change",
    Capability.INCIDENT_RESOLVE: "change",
    Capability.INCIDENT_MANAGE: "change",
}


def role_rank(role: str | None) -> int:
    return ROLE_RANK.get(role, -1) if role else -1


def capabilities_of(role: str | None) -> frozenset[str]:
    rank = role_rank(role)
    return frozenset(cap for cap, minimum in MINIMUM_ROLE.items() if ROLE_RANK[minimum] <= rank)


def role_grants(role: str | None, capability: str) -> bool:
    if capability not in MINIMUM_ROLE:
        # An unknown capability is a programming error; failing closed keeps it from becoming an open door.
        raise KeyError(f"unknown capability {capability!r}")
    return role_rank(role) >= ROLE_RANK[MINIMUM_ROLE[capability]]


def lower_role(a: str | None, b: str | None) -> str | None:
    if a is None or b is None:
        return None
    return a if role_rank(a) <= role_rank(b) else b
