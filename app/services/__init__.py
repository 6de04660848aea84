"""The use cases, shared by every surface (webhooks, pages, API, command line, jobs, the demo).

Each function takes the session it works in (the caller owns its lifecycle), loads,
decides with the pure core, writes (flush only) and returns plain values.
"""
