"""Pure parsers of the values the product handles: CPR numbers, phone numbers, times, caller codes.

Each returns a value or raises an error whose message says what is wrong (and never
repeats a CPR number); none touches a database, Flask or the clock.
"""
