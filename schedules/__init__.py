"""Rotas (vagtplaner) and the scheduled jobs that run on them."""
