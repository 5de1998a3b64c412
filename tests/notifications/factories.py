"""Paging objects for tests, made through the services (so they are valid the way pages make them)."""

from datetime import date, time

from notifications.services import channels as channel_services
from notifications.services import policies as policy_services
from notifications.services import schedules as schedule_services
from opsplatform.core.actors import Actor


def system(org) -> Actor:
    return Actor.system("tests", organization=org)


def make_schedule(org, team, *, name="Primary", layers=()):
    """``layers``: dicts of ``layer_save`` arguments (participants as users)."""
    schedule = schedule_services.schedule_create(actor=system(org), team=team, name=name)
    for spec in layers:
        arguments = {
            "name": "Layer",
            "rotation": "weekly",
            "handoff_time": time(9),
            "start_date": date(2025, 1, 6),
            **spec,
        }
        schedule_services.layer_save(actor=system(org), schedule=schedule, **arguments)
    return schedule


def make_channel(org, *, kind="webhook", name=None, **fields):
    return channel_services.channel_create(
        actor=system(org), name=name or f"{kind} channel", kind=kind, **fields
    )


def step(*targets, delay=5, round_robin=False):
    return policy_services.StepSpec(delay_minutes=delay, round_robin=round_robin, targets=list(targets))


def make_policy(org, *steps, name="Paging", repeat_count=0, services=(), teams=()):
    policy = policy_services.policy_create(
        actor=system(org), name=name, repeat_count=repeat_count, steps=list(steps)
    )
    if services or teams:
        policy_services.policy_attach(
            actor=system(org), policy=policy, services=list(services), default_for_teams=list(teams)
        )
    return policy
