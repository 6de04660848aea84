"""What the line says, in Danish (default) and English. Wording is configuration-free text here."""

from __future__ import annotations

from datetime import date

MONTHS = {
    "da": "januar februar marts april maj juni juli august september oktober november december",
    "en": "January February March April May June July August September October November December",
}

LANGUAGE_CODES = {"da": "da-DK", "en": "en-GB"}

PROMPTS: dict[str, dict[str, str]] = {
    "da": {
        "welcome_known": "Velkommen til 72-timers-linjen, {organisation}.",
        "ask_code": (
            "Velkommen til 72-timers-linjen for sundhedsfaglige. "
            "Indtast jeres enhedskode, og afslut med firkant."
        ),
        "code_retry": "Enhedskoden blev ikke genkendt. Indtast enhedskoden igen, og afslut med firkant.",
        "not_professional": (
            "Linjen er kun for sundhedsfaglige. Borgere bedes ringe til egen læge eller 1813. "
            "Du stilles nu videre til hospitalets omstilling."
        ),
        "ask_cpr": "Indtast patientens CPR-nummer, 10 cifre.",
        "cpr_retry": "CPR-nummeret er ikke gyldigt. Indtast patientens 10 cifre igen.",
        "cpr_failed": "CPR-nummeret kunne ikke godkendes. Du stilles nu videre til hospitalets omstilling.",
        "born": "Patienten er født {born}.",
        "active": (
            "Patienten blev udskrevet fra {department}, {hospital}, den {discharged}. "
            "Afdelingen har behandlingsansvaret."
        ),
        "none_gp": (
            "Der er intet aktivt 72-timers behandlingsansvar for patienten. "
            "Opkaldet går i stedet til patientens egen læge."
        ),
        "none_after_hours": (
            "Der er intet aktivt 72-timers behandlingsansvar for patienten. "
            "Opkaldet går i stedet til {after_hours}."
        ),
        "after_hours_1813": "Akuttelefonen 1813",
        "after_hours_other": "vagtnummeret {number}",
        "confirm": "Tryk 1 for at blive stillet om. Tryk 2 for at indtaste et andet CPR-nummer.",
        "confirm_retry": "Det blev ikke forstået.",
        "confirm_failed": "Du stilles nu videre til hospitalets omstilling.",
        "connecting": "Du stilles om. Vent venligst.",
        "next_target": "Vi prøver næste nummer. Vent venligst.",
        "nobody": ("Det lykkedes ikke at få fat i nogen. Afdelingen ringer dig op hurtigst muligt. Farvel."),
        "nobody_no_number": (
            "Det lykkedes ikke at få fat i nogen, og dit nummer er skjult. "
            "Ring venligst til hospitalets omstilling. Farvel."
        ),
        "technical": "Der opstod en teknisk fejl. Du stilles nu videre til hospitalets omstilling.",
        "goodbye": "Tak for opkaldet. Farvel.",
    },
    "en": {
        "welcome_known": "Welcome to the 72-hour line, {organisation}.",
        "ask_code": (
            "Welcome to the 72-hour line for health professionals. Enter your unit code, then press hash."
        ),
        "code_retry": "The unit code was not recognised. Enter the unit code again, then press hash.",
        "not_professional": (
            "This line is for health professionals only. Citizens, please call your own doctor "
            "or 1813. You are now being transferred to the hospital switchboard."
        ),
        "ask_cpr": "Enter the patient's CPR number, 10 digits.",
        "cpr_retry": "That CPR number is not valid. Enter the patient's 10 digits again.",
        "cpr_failed": (
            "The CPR number could not be accepted. You are now being transferred to the hospital switchboard."
        ),
        "born": "The patient was born on {born}.",
        "active": (
            "The patient was discharged from {department}, {hospital}, on {discharged}. "
            "The department holds the treatment responsibility."
        ),
        "none_gp": (
            "There is no active 72-hour treatment responsibility for this patient. "
            "The call will go to the patient's own doctor instead."
        ),
        "none_after_hours": (
            "There is no active 72-hour treatment responsibility for this patient. "
            "The call will go to {after_hours} instead."
        ),
        "after_hours_1813": "the acute line 1813",
        "after_hours_other": "the after-hours number {number}",
        "confirm": "Press 1 to be connected. Press 2 to enter another CPR number.",
        "confirm_retry": "That was not understood.",
        "confirm_failed": "You are now being transferred to the hospital switchboard.",
        "connecting": "Connecting you now. Please wait.",
        "next_target": "Trying the next number. Please wait.",
        "nobody": "Nobody could be reached. The department will call you back. Goodbye.",
        "nobody_no_number": (
            "Nobody could be reached, and your number is withheld. "
            "Please call the hospital switchboard. Goodbye."
        ),
        "technical": (
            "A technical error occurred. You are now being transferred to the hospital switchboard."
        ),
        "goodbye": "Thank you for calling. Goodbye.",
    },
}

# The callee always hears Danish: the whisper goes to hospital staff.
WHISPER = {
    "known": "72-timers-linjen. {organisation} ringer om en patient fra {department}, født {born}.",
    "unknown_patient": "72-timers-linjen. {organisation} ringer. Patienten er ikke identificeret.",
    "accept": "Tryk 1 for at tage imod opkaldet.",
    "unknown_caller": "en opkalder, der ikke er identificeret",
    "no_department": "ingen afdeling med behandlingsansvar",
}


def say(language: str, key: str, **values: str) -> str:
    """Return prompt `key` in `language` (Danish when the language is unknown)."""
    table = PROMPTS.get(language, PROMPTS["da"])
    return table[key].format(**values)


def spoken_date(day: date, language: str, *, with_year: bool = True) -> str:
    """Return a date the way it is read aloud: '1. januar 1940', '1 January 1940'."""
    month = MONTHS.get(language, MONTHS["da"]).split()[day.month - 1]
    if language == "en":
        return f"{day.day} {month} {day.year}" if with_year else f"{day.day} {month}"
    return f"{day.day}. {month} {day.year}" if with_year else f"{day.day}. {month}"
