"""Notifications to users from processes."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from crm.models import Notification, User
from crm.usernames import normalise_username
from handlers.registry import HandlerContext, HandlerError, HandlerRegistry


def register(registry: HandlerRegistry) -> None:
    @registry.register("notify.user", "Send an in-app notification to a user")
    def notify_user(ctx: HandlerContext, user: str | int, message: str) -> dict[str, Any]:
        if isinstance(user, int):
            recipient = ctx.session.get(User, user)
        else:
            name = normalise_username(str(user))
            recipient = ctx.session.scalar(select(User).where(User.username == name))
        if recipient is None:
            raise HandlerError(f"notify.user: no user {user!r}")
        notification = Notification(
            user_id=recipient.id, message=str(message)[:2000], instance_id=ctx.instance_id
        )
        ctx.session.add(notification)
        ctx.session.flush()
        return {"notification_id": notification.id}
