"""What a contact led to: the outcomes staff record when they close a follow-up or after a connected call."""

from __future__ import annotations

# The outcome of a contact (the department's own record of what the call led to); the worklist is
# not a medical record: the advice itself belongs in the patient's record in the EHR.
RESULTS = (
    "advice",  # råd og vejledning
    "medication_changed",  # medicin ændret
    "test_result",  # prøvesvar givet
    "video_consultation",  # videokonsultation
    "referred",  # henvist til egen læge / 1813
    "subacute_appointment",  # subakut tid
    "readmission",  # genindlæggelse
    "responsibility_extended",  # behandlingsansvar forlænget
)
