"""Automation rules: react to ledger events with actions, once per (rule, event), with retries in
database columns, approvals for risky actions, and a side-effect-free backtest. See docs/workflows.md."""
