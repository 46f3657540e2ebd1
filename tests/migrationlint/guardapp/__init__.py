"""A tiny app for the migrate-guard test: 0002 drops a column the running code still reads."""
