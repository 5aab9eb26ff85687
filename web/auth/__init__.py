"""Sign-in and sign-out pages, and the language switcher."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, StringField
from wtforms.validators import DataRequired, Length

from crm import audit, signin_limits
from crm.users import authenticate
from web.account import save_locale
from web.context import runtime, unit_of_work
from web.extensions import LANGUAGES

auth_bp = Blueprint("auth", __name__)


class SignInForm(FlaskForm):
    username = StringField(_l("Username"), validators=[DataRequired(), Length(max=64)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=200)])
    remember = BooleanField(_l("Keep me signed in"))


@auth_bp.route("/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    if current_user.is_authenticated:
        return redirect(url_for("inbox.index"))
    form = SignInForm()
    error = None
    if form.validate_on_submit():
        username = form.username.data or ""
        now, address = runtime().clock.now(), request.remote_addr
        with unit_of_work() as db:
            wait = signin_limits.seconds_locked(db, username, address, now)
            user = None if wait else authenticate(db, username, form.password.data or "")
            if user is not None:
                audit.record(
                    db,
                    actor=user,
                    action="sign_in",
                    entity_type="user",
                    entity_id=user.id,
                    source="web",
                )
            elif not wait:
                signin_limits.record_failure(db, username, address, now, source="web")
        if wait:
            minutes = max(1, -(-wait // 60))
            message = _l(
                "Too many failed sign-in attempts. Try again in %(minutes)s minutes.",
                minutes=minutes,
            )
            page = render_template("auth/login.html", form=form, error=message)
            return page, 429, {"Retry-After": str(wait)}
        if user is not None:
            login_user(user, remember=bool(form.remember.data))
            return redirect(_safe_next(request.args.get("next")))
        error = _l("Wrong username or password.")
    status = 401 if error else 200
    return render_template("auth/login.html", form=form, error=error), status


@auth_bp.post("/logout")
@login_required
def logout() -> ResponseReturnValue:
    logout_user()
    return redirect(url_for("auth.login"))


@auth_bp.post("/language")
def set_language() -> ResponseReturnValue:
    locale = request.form.get("locale", "")
    if locale in LANGUAGES:
        session["locale"] = locale
        if current_user.is_authenticated:  # the header switch changes the saved choice too
            save_locale(current_user.id, locale)
    else:
        flash(_l("Unknown language."), "error")
    return redirect(_safe_next(request.form.get("next")))


def _safe_next(target: str | None) -> str:
    """Only same-site paths, so the sign-in page cannot be used to redirect elsewhere."""
    if target:
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and target.startswith("/"):
            return target
    return url_for("inbox.index")
