"""The wire: Webex's paths, shapes, status codes, errors, pagination and auth."""
