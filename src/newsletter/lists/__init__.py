"""The list server: a subscribe form's endpoint, double opt-in with consent records, one-click unsubscribe.

    settings   [lists] and its secrets from the environment
    store      the list in SQLite (WAL), one row per address with its consent record
    tokens     signed confirmation links; unsubscribe tokens are send/listserver.py's
    addresses  what a subscriber typed, checked (email-validator)
    limits     requests per IP and emails per address
    pages      the server's pages and emails from templates/lists/
    mailer     confirmation and welcome emails over the newsletter's SMTP settings, off the request
    service    what each request does, apart from HTTP
    app        the routes (Starlette); server runs them (uvicorn)
    transfer   CSV import, CSV export and database copies

Above send/ (it uses its SMTP transport and unsubscribe tokens); nothing below imports it.
"""
