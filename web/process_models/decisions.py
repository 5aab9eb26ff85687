"""The decision-table editor page: one DMN file of a deployed version's bundle, in dmn-js.

The page validates and deploys through the modeler's JSON actions (``validate``/``deploy``
in ``actions.py``) with the bundle's BPMN and forms unchanged and the edited DMN in place
of the stored one, so a table goes through the same checks as any other deploy.
"""

from __future__ import annotations

from flask import render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import login_required

from dialflow.errors import NotFound
from engine.deployments import latest_version
from web.context import unit_of_work
from web.process_models import EDITORS, process_models_bp, require_role


@process_models_bp.get("/process-models/<process_id>/versions/<int:version>/decisions/<file_name>")
@login_required
def decision_page(process_id: str, version: int, file_name: str) -> ResponseReturnValue:
    require_role(*EDITORS)
    with unit_of_work(read_only=True) as db:
        found = latest_version(db, process_id, version)  # 404 for an unknown process or version
        bundle = found.bundle
        if file_name not in bundle.dmn:
            raise NotFound(
                _(
                    "Version %(version)s of %(process)s has no decision file %(file)s.",
                    version=version,
                    process=process_id,
                    file=file_name,
                )
            )
        data = {
            "process_id": process_id,
            "version": version,
            "file_name": file_name,
            "xml": bundle.dmn[file_name],
            "bundle": {
                "bpmn": dict(bundle.bpmn),
                "dmn": dict(bundle.dmn),
                "forms": dict(bundle.forms),
            },
            "urls": {
                "validate": url_for("process_models.validate"),
                "deploy": url_for("process_models.deploy"),
                "versions": url_for("process_models.versions_page", process_id=process_id),
            },
        }
        others = sorted(name for name in bundle.dmn if name != file_name)
    return render_template(
        "process_models/decision.html",
        data=data,
        process_id=process_id,
        version=version,
        file_name=file_name,
        others=others,
    )
