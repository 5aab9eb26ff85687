"""The CRM domain: customers, contacts, deals, calls, notes, users and the audit log.

``crm.models`` holds the typed tables, one module per aggregate; the other modules are use
cases that receive a SQLAlchemy session and never commit (``dialflow.db`` owns transactions).
"""
