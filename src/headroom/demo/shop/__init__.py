"""The demo shop's one app: catalogue, orders, checkout, accounts, staff pages."""
