"""Billing: invoices and the billing details they are addressed to."""
