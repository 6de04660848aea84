"""The console's forms (CSRF-protected by Flask-WTF)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, EmailField, HiddenField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired


class LoginForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired()])
    password = PasswordField(_l("Password"), validators=[DataRequired()])


class LanguageForm(FlaskForm):
    language = HiddenField()


class LogoutForm(FlaskForm):
    pass


class ActionForm(FlaskForm):
    """A button that changes something (discard, restore, withdraw): the CSRF token only."""


class UploadForm(FlaskForm):
    file = FileField(_l("Rota file"))
    sheet = StringField(_l("Sheet (Excel)"))
    department = SelectField(_l("Department (iCalendar)"), choices=[], validate_choice=False)
    role = SelectField(_l("Role (iCalendar)"), choices=[], validate_choice=False)


class PublishForm(FlaskForm):
    acknowledged = BooleanField(_l("I have read the warnings and gaps"))


class OverrideForm(FlaskForm):
    department = SelectField(_l("Department"), choices=[], validate_choice=False)
    start = StringField(_l("From"))
    end = StringField(_l("To"))
    replaces = SelectField(_l("Instead of"), choices=[], validate_choice=False)
    role = SelectField(_l("Role of the cover"), choices=[], validate_choice=False)
    name = StringField(_l("Who covers: name"))
    phone = StringField(_l("Who covers: phone"))
    reason = StringField(_l("Reason"))
