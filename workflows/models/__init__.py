from workflows.automation.models import (
    AutomationCursor,
    AutomationExecution,
    AutomationRule,
    ExecutionState,
    Trigger,
)
from workflows.models.approvals import ApprovalDecision, ApprovalRequest, ApprovalStatus, Verdict
from workflows.models.definitions import WorkflowDefinition, WorkflowVersion
from workflows.models.notices import Notice, NoticeKind, NoticeStatus
from workflows.models.runs import WorkflowRun
from workflows.models.task_items import ACTIVE_TASK_STATUSES, Task, TaskStatus

__all__ = [
    "ACTIVE_TASK_STATUSES",
    "ApprovalDecision",
    "ApprovalRequest",
    "ApprovalStatus",
    "AutomationCursor",
    "AutomationExecution",
    "AutomationRule",
    "ExecutionState",
    "Notice",
    "NoticeKind",
    "NoticeStatus",
    "Task",
    "TaskStatus",
    "Trigger",
    "Verdict",
    "WorkflowDefinition",
    "WorkflowRun",
    "WorkflowVersion",
]
