"""The agent workspace, the customer portal and tenant administration."""
