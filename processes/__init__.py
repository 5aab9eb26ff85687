"""The catalog of Dialflow's business processes and the glue that starts them from CRM events.

The diagrams themselves live in ``bpmn/`` and are deployed at start; this package will hold
their settings (calling windows, caps, SLAs) and the code that starts them when a lead
arrives or a deal is won.
"""
