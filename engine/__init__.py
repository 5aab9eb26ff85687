"""The BPMN runtime on SpiffWorkflow 3.2.

- ``engine.models``: deployments (bundles, process versions), instances, work items, incidents.
- ``engine.bundles`` / ``engine.checks`` / ``engine.deployments``: parse, check and version models.
- ``engine.state``: instance state without the spec; ``engine.specs``: parsed specs per version.
- ``engine.scripting``: the script engine (helpers for scripts, service tasks → handlers).
- ``engine.stepper``: lock → load → run → save, one transaction per step, incidents on failure.
- ``engine.work_items``: human tasks materialized for the inbox; ``engine.forms``: JSON Schema.
- ``engine.instances`` / ``engine.tasks``: the use cases the API and the web pages call.
"""
