"""A believable demo region, seeded around `now` through the same services as the file imports."""

from app.demo.seed import seed_demo

__all__ = ["seed_demo"]
