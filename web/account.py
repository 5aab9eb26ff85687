"""``/account``: the signed-in user's own settings (for now, the interface language)."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from crm import audit
from crm.models import User
from web.context import unit_of_work
from web.extensions import LANGUAGES

account_bp = Blueprint("account", __name__)


def save_locale(user_id: int, locale: str) -> None:
    """Store the user's language; the locale selector reads it before Accept-Language."""
    with unit_of_work() as db:
        user = db.get(User, user_id)
        if user is None or user.locale == locale:
            return
        before = user.locale
        user.locale = locale
        audit.record(
            db,
            actor=user,
            action="update",
            entity_type="user",
            entity_id=user.id,
            before={"locale": before},
            after={"locale": locale},
            source="web",
        )


@account_bp.route("/account", methods=["GET", "POST"])
@login_required
def settings_page() -> ResponseReturnValue:
    if request.method == "POST":
        locale = request.form.get("locale", "")
        if locale not in LANGUAGES:
            flash(_l("Unknown language."), "error")
            return render_template("account.html"), 422
        save_locale(current_user.id, locale)
        session["locale"] = locale
        flash(_l("Your settings were saved."), "ok")
        return redirect(url_for("account.settings_page"))
    return render_template("account.html")
