"""The validated commands every surface builds (Management API bodies, dashboard forms, DCR, CIMD, the CLI):
pydantic models with Auth0's field names, checked on write against Auth0's types and bounds (docs/api.md,
"Validation on write"). Services take these; they never see a request."""
