"""Dialflow's kernel: settings, database, errors, clock and the command line.

The domain lives in ``crm`` (records), ``engine`` (BPMN runtime), ``handlers`` (service-task
handlers), ``processes`` (the business-process catalog) and ``web`` (Flask).
"""

__version__ = "0.1.0"
