"""Forms. Every text field is NFC-normalised and trimmed as it comes in.

Why this module is long: it declares every form of the site, a few lines each and no logic
(the services check the values), on one base class that applies the NFC rule to all of them.
"""

from __future__ import annotations

from flask_babel import get_translations
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from markupsafe import Markup
from wtforms import (
    BooleanField,
    DateField,
    DecimalField,
    FieldList,
    IntegerField,
    PasswordField,
    RadioField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
    widgets,
)
from wtforms.fields.choices import Choice
from wtforms.fields.core import Field
from wtforms.validators import (
    DataRequired,
    EqualTo,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    ValidationError,
)

from lms.app.config import MAX_SERIAL_PREFIX
from lms.models import Role, UnitKind
from lms.services.organisation import SEAL_MAX_BYTES, SEAL_MAX_SIDE, SEAL_MIN_SIDE
from lms.services.text import MAX_FULL_NAME, MAX_UNIT_NAME, clean_text, nfc


def choices(pairs) -> list[SelectChoice]:
    """(value, label) pairs as WTForms options."""
    return [SelectChoice(value, label) for value, label in pairs]


class MenuSelect(widgets.Select):
    """A <select> whose last `count` options are prebuilt markup: the unit menu each process
    keeps (lms/web/admin/base.py). WTForms renders an option in ~10 µs: 20 ms for a
    province's 2,000 units, in every form that offers them."""

    def __init__(self, options: Markup, count: int, multiple: bool = False) -> None:
        super().__init__(multiple=multiple)
        self.options, self.count = options, count

    def __call__(self, field, **kwargs) -> Markup:
        kwargs.setdefault("id", field.id)
        if self.multiple:
            kwargs["multiple"] = True
        flags = getattr(field, "flags", {})
        for name in self.validation_attrs:
            if name not in kwargs and getattr(flags, name, False):
                kwargs[name] = True
        chosen = set(field.data or ()) if self.multiple else {field.data}
        # html_params escapes every value it writes.
        html = [Markup(f"<select {widgets.html_params(name=field.name, **kwargs)}>")]  # noqa: S704
        for choice in field.choices[: len(field.choices) - self.count]:  # a blank choice
            selected = field.coerce(choice.value) in chosen
            html.append(
                self.render_option(Choice(choice.value, choice.label, selected, choice.render_kw))
            )
        options = self.options
        for value in chosen:
            if isinstance(value, int) and value:
                options = options.replace(
                    Markup('<option value="{}">').format(value),
                    Markup('<option value="{}" selected>').format(value),
                    1,
                )
        html.append(options)
        html.append(Markup("</select>"))
        return Markup("").join(html)


def _nfc_strip(value):
    return clean_text(value) if isinstance(value, str) else value


class Form(FlaskForm):
    """Base form: NFC at the edge for every string field (passwords only get NFC)."""

    class Meta:
        def bind_field(self, form, unbound_field, options):
            field_class = unbound_field.field_class
            if issubclass(field_class, StringField) and not issubclass(field_class, PasswordField):
                options["filters"] = (*unbound_field.kwargs.get("filters", ()), _nfc_strip)
            elif issubclass(field_class, PasswordField):
                options["filters"] = (
                    *unbound_field.kwargs.get("filters", ()),
                    lambda v: nfc(v) if isinstance(v, str) else v,
                )
            return unbound_field.bind(form=form, **options)

    def add_error(self, field: str | None, message: str) -> None:
        """Attach a service's error to the field it names, or to the form as a whole."""
        target: Field | None = getattr(self, field, None) if field else None
        if isinstance(target, Field):
            target.errors = [*target.errors, message]
        else:
            self.form_errors.append(message)


REQUIRED = _l("This field is required.")


class LoginForm(Form):
    username = StringField(_l("Username"), validators=[DataRequired(REQUIRED)])
    password = PasswordField(_l("Password"), validators=[DataRequired(REQUIRED)])
    submit = SubmitField(_l("Log in"))


class ChangePasswordForm(Form):
    current_password = PasswordField(_l("Current password"), validators=[DataRequired(REQUIRED)])
    new_password = PasswordField(
        _l("New password"),
        validators=[DataRequired(REQUIRED)],
        description=_l(
            "At least 8 characters. A short sentence is easy to remember and hard to guess."
        ),
    )
    confirm = PasswordField(
        _l("Repeat the new password"),
        validators=[
            DataRequired(REQUIRED),
            EqualTo("new_password", message=_l("The two new passwords are not the same.")),
        ],
    )
    submit = SubmitField(_l("Change password"))


# The interface languages, as the language switch of every page offers them.
LANGUAGES = (("vi", "Tiếng Việt"), ("en", "English"))


class LanguageForm(Form):
    locale = SelectField(choices=choices(LANGUAGES))
    next = StringField()


class ActionForm(Form):
    """An empty form for POST-only buttons (deactivate, reset password, delete, log out)."""


UNIT_KIND_LABELS = {
    UnitKind.FEDERATION: _l("Provincial/city labour federation"),
    UnitKind.DISTRICT: _l("District labour federation"),
    UnitKind.SECTOR: _l("Sector union"),
    UnitKind.GRASSROOTS: _l("Grassroots union"),
    UnitKind.AGENCY: _l("Agency or enterprise"),
    UnitKind.OTHER: _l("Other"),
}

ROLE_LABELS = {
    Role.LEARNER: _l("Learner"),
    Role.AUTHOR: _l("Course author"),
    Role.TRAINER: _l("Trainer"),
    Role.TEAM_MEMBER: _l("Support team member"),
    Role.UNIT_ADMIN: _l("Unit administrator"),
    Role.SITE_ADMIN: _l("Site administrator"),
}


class UnitForm(Form):
    code = StringField(
        _l("Code"),
        validators=[
            DataRequired(REQUIRED),
            Length(max=40, message=_l("At most %(max)d characters.", max=40)),
        ],
        description=_l("Short and unique among its siblings, for example CDCS-HALAM."),
    )
    name = StringField(
        _l("Name"),
        validators=[
            DataRequired(REQUIRED),
            Length(
                max=MAX_UNIT_NAME,
                message=_l("At most %(max)d characters.", max=MAX_UNIT_NAME),
            ),
        ],
    )
    kind = SelectField(
        _l("Kind"), choices=choices((k.value, v) for k, v in UNIT_KIND_LABELS.items())
    )
    # Site admins only (the view removes it for others); checked by the service.
    certificate_issuer = StringField(
        _l("Issuing organisation on certificates"),
        description=_l(
            "The organisation printed as the issuer on the certificates of this unit's learners "
            "and of its sub-units', for example the federation's own name. Leave it empty to "
            "print that of the nearest unit above that has one, or the site's."
        ),
    )
    submit = SubmitField(_l("Save"))


class OrganisationForm(Form):
    """The organisation profile; the service checks the values (and the image)."""

    organisation = StringField(
        _l("Issuing organisation"),
        description=_l(
            "Printed at the top of every certificate, for example Liên đoàn Lao động tỉnh "
            "Quảng Ninh. A unit can print its own name instead: edit the unit."
        ),
    )
    place = StringField(
        _l("Place name of the date line"),
        description=_l("For example Quảng Ninh: “Quảng Ninh, ngày 23 tháng 11 năm 2026”."),
    )
    signer_title = StringField(
        _l("Signatory's title"),
        description=_l("For example Chủ tịch; it is printed in capitals."),
    )
    signer_name = StringField(
        _l("Signatory's full name"),
        description=_l("Printed under the signature. Leave it empty to print no name."),
    )
    serial_prefix = StringField(
        _l("Certificate number prefix"),
        description=_l(
            "At most %(max)d letters A to Z, digits and dashes, for example QN: numbers then "
            "read QN-7K3Q-M9PX-T2VD. Leave it empty for numbers without a prefix. Certificates "
            "already issued keep their numbers.",
            max=MAX_SERIAL_PREFIX,
        ),
    )
    seal = FileField(
        _l("Seal or signature image"),
        description=_l(
            "A PNG or JPEG image of at most %(size)d MB, each side between %(min)d and %(max)d "
            "pixels. A PNG with a transparent background prints best, between the signatory's "
            "title and name.",
            size=SEAL_MAX_BYTES // (1024 * 1024),
            min=SEAL_MIN_SIDE,
            max=SEAL_MAX_SIDE,
        ),
    )
    remove_seal = BooleanField(_l("Remove the current image"))
    submit = SubmitField(_l("Save"))


class MoveUnitForm(Form):
    parent_id = SelectField(_l("New parent unit"), coerce=int, validators=[InputRequired()])
    submit = SubmitField(_l("Move"))


class CheckboxListField(SelectMultipleField):
    """Checkboxes for a multiple choice, with one translated message for a bad value."""

    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()

    def pre_validate(self, form) -> None:
        allowed = {str(c.value) for c in self.choices}
        if any(str(value) not in allowed for value in self.data or ()):
            raise ValidationError(str(_l("Not a valid choice.")))


class UserForm(Form):
    full_name = StringField(
        _l("Full name"),
        validators=[
            DataRequired(REQUIRED),
            Length(
                max=MAX_FULL_NAME,
                message=_l("At most %(max)d characters.", max=MAX_FULL_NAME),
            ),
        ],
    )
    username = StringField(
        _l("Username"),
        validators=[DataRequired(REQUIRED)],
        description=_l(
            "Letters without diacritics, digits, '.', '_' or '-'; for example nguyenvana."
        ),
    )
    org_unit_id = SelectField(_l("Unit"), coerce=int, validators=[Optional()])
    roles = CheckboxListField(
        _l("Roles"), choices=choices((r.value, v) for r, v in ROLE_LABELS.items())
    )
    admin_unit_ids = SelectMultipleField(
        _l("Units managed (for a unit administrator)"),
        coerce=int,
        validators=[Optional()],
        description=_l("Hold Ctrl (or long-press on a phone) to choose more than one unit."),
    )
    email = StringField(
        _l("Email"),
        validators=[
            Optional(),
            Length(max=254, message=_l("At most %(max)d characters.", max=254)),
        ],
    )
    phone = StringField(
        _l("Phone number"),
        validators=[Optional(), Length(max=30, message=_l("At most %(max)d characters.", max=30))],
    )
    birth_date = DateField(
        _l("Date of birth"),
        validators=[Optional()],
        format="%Y-%m-%d",
    )
    cohort_id = SelectField(_l("Batch"), coerce=int, validators=[Optional()])
    issued_at = DateField(
        _l("Account issued on"),
        validators=[Optional()],
        format="%Y-%m-%d",
        description=_l("The day the account is handed to the person; deadlines count from it."),
    )
    password = PasswordField(
        _l("Initial password"),
        validators=[Optional()],
        description=_l("Leave empty to generate one. It must be changed at first login."),
    )
    submit = SubmitField(_l("Save"))


class UploadForm(Form):
    file = FileField(
        _l("File"),
        validators=[FileRequired(_l("Choose a file to upload."))],
        description=_l(
            "A whole course as a zip (course.toml, modules/, media/) or a SCORM package (zip "
            "with imsmanifest.xml) as a new course; or, for a course, one module (.md), a SCORM "
            "package named NN-name.zip, or a final-test question bank (GIFT .gift/.txt, Moodle "
            "XML .xml, .toml)."
        ),
    )
    course_id = SelectField(_l("Course"), coerce=int, validators=[Optional()])
    submit = SubmitField(_l("Upload and check"))


class TitleChoiceForm(Form):
    """What a package whose title is an existing course's becomes (labels set by the view)."""

    choice = RadioField(
        _l("What should this package become?"),
        choices=choices([("version", ""), ("course", "")]),
        validators=[InputRequired(_l("Choose one."))],
    )
    title = StringField(
        _l("Title of the new course"),
        validators=[Optional(), Length(max=200)],
        description=_l("Another title than the existing course's."),
    )
    submit = SubmitField(_l("Confirm the choice"))


class PublishForm(Form):
    move_enrolled = BooleanField(
        _l("Also move learners who started an earlier version to this one"),
        description=_l(
            "Only when the lessons are the same and only the wording changed: their progress "
            "is kept lesson by lesson."
        ),
    )
    submit = SubmitField(_l("Publish"))


class ExtendForm(Form):
    course_id = SelectField(_l("Course"), coerce=int, validators=[Optional()])
    days = IntegerField(
        _l("Extend by (days)"),
        validators=[
            Optional(),
            NumberRange(1, 365, message=_l("Extend by 1 to %(max)d days.", max=365)),
        ],
    )
    until = DateField(_l("Or until (date)"), validators=[Optional()], format="%Y-%m-%d")
    reason = TextAreaField(
        _l("Reason"),
        validators=[
            DataRequired(REQUIRED),
            Length(max=500, message=_l("At most %(max)d characters.", max=500)),
        ],
        description=_l("Shown on the learner's record and in the audit log."),
    )
    submit = SubmitField(_l("Extend"))


class EnrolForm(Form):
    course_id = SelectField(_l("Course"), coerce=int)
    submit = SubmitField(_l("Enrol"))


class CohortForm(Form):
    name = StringField(
        _l("Name of the batch"),
        validators=[
            DataRequired(REQUIRED),
            Length(max=120, message=_l("At most %(max)d characters.", max=120)),
        ],
        description=_l("For example: Đợt 1 – tháng 11/2026."),
    )
    org_unit_id = SelectField(_l("Unit"), coerce=int)
    course_ids = CheckboxListField(_l("Courses"), coerce=int)
    deadline_days = IntegerField(
        _l("Days to finish"),
        validators=[
            Optional(),
            NumberRange(1, 365, message=_l("deadline_days must be a whole number from 1 to 365.")),
        ],
        description=_l("Leave empty to use each course's own number of days (usually 10)."),
    )
    submit = SubmitField(_l("Save"))


class CohortIssueForm(Form):
    """The issue date of every account of a batch, set at once."""

    issued_at = DateField(
        _l("Account issued on"),
        validators=[DataRequired(_l("Enter the date the accounts were handed out."))],
        format="%Y-%m-%d",
        description=_l(
            "The day the accounts of this batch were handed out: it becomes every learner's "
            "issue date, and their deadlines count from it again (the day itself not counted)."
        ),
    )
    past_ok = BooleanField(_l("Set it even though the learners are left no time"))
    submit = SubmitField(_l("Set the issue date"))

    # Set by the view when the date leaves no time: the tick box is then shown.
    needs_tick = False


class CourseSettingsForm(Form):
    overdue_policy = SelectField(
        _l("After the deadline"),
        choices=choices(
            [
                (
                    "lock",
                    _l("Lock: the learner can read but not take the final test until extended"),
                ),
                ("late", _l("Late: the learner can finish; the completion is marked late")),
            ]
        ),
    )
    reminder_days = StringField(
        _l("Reminders (days left)"),
        validators=[DataRequired(REQUIRED)],
        description=_l("Numbers separated by commas; 0 is the last day. For example: 5, 2, 0."),
    )
    not_started_after_days = IntegerField(
        _l("'Not started yet' reminder (days after the account is issued)"),
        validators=[
            Optional(),
            NumberRange(1, 365, message=_l("deadline_days must be a whole number from 1 to 365.")),
        ],
        description=_l("Leave empty for no such reminder."),
    )
    submit = SubmitField(_l("Save"))


MAX_CHOICES = 8


class QuestionForm(Form):
    """One question of a bank; the fields used depend on its type."""

    text = TextAreaField(
        _l("Question"),
        validators=[
            DataRequired(REQUIRED),
            Length(max=2000, message=_l("At most %(max)d characters.", max=2000)),
        ],
    )
    points = DecimalField(
        _l("Points"),
        places=None,
        validators=[
            InputRequired(REQUIRED),
            NumberRange(0.1, 100, message=_l("From %(min)s to %(max)s.", min=0.1, max=100)),
        ],
    )
    feedback = TextAreaField(
        _l("Feedback after the test"), validators=[Optional(), Length(max=2000)]
    )
    choices_text = FieldList(
        StringField(_l("Answer")), min_entries=MAX_CHOICES, max_entries=MAX_CHOICES
    )
    # The ticked answers, by row number (a FieldList of checkboxes would lose the row numbers).
    correct = SelectMultipleField(
        _l("Right"),
        choices=choices((str(i), str(i + 1)) for i in range(MAX_CHOICES)),
        validators=[Optional()],
    )
    answer = SelectField(
        _l("Right answer"),
        choices=choices([("true", _l("True")), ("false", _l("False"))]),
        validators=[Optional()],
    )
    answers = TextAreaField(_l("Accepted answers (one per line)"), validators=[Optional()])
    case_sensitive = BooleanField(_l("Upper and lower case must match"))
    ignore_diacritics = BooleanField(_l("Accept answers typed without diacritics"))
    pairs = TextAreaField(_l("Pairs (one per line: left => right)"), validators=[Optional()])
    submit = SubmitField(_l("Save as a new draft"))

    def fill(self, q) -> None:
        """Put a question's values in the form."""
        self.text.data, self.points.data, self.feedback.data = q.text, q.points, q.feedback
        for index, choice in enumerate(q.choices[:MAX_CHOICES]):
            self.choices_text[index].data = choice.text
        self.correct.data = [str(i) for i, c in enumerate(q.choices) if c.correct]
        self.answer.data = "true" if q.answer else "false"
        self.answers.data = "\n".join(q.answers)
        self.case_sensitive.data, self.ignore_diacritics.data = (
            q.case_sensitive,
            q.ignore_diacritics,
        )
        self.pairs.data = "\n".join(f"{left} => {right}" for left, right in q.pairs)

    def question(self, q):
        """The edited question (same id, module and type); read_bank checks the rest."""
        import dataclasses

        from courses.questions import Choice

        changes = {
            "text": self.text.data,
            "points": float(self.points.data),
            "feedback": self.feedback.data or "",
        }
        if q.type in ("single", "multiple"):
            ticked = set(self.correct.data or [])
            changes["choices"] = tuple(
                Choice(clean_text(t.data), str(i) in ticked)
                for i, t in enumerate(self.choices_text)
                if clean_text(t.data)
            )
        elif q.type == "truefalse":
            changes["answer"] = self.answer.data == "true"
        elif q.type == "short":
            changes["answers"] = tuple(
                clean_text(a) for a in (self.answers.data or "").splitlines() if clean_text(a)
            )
            changes["case_sensitive"] = bool(self.case_sensitive.data)
            changes["ignore_diacritics"] = bool(self.ignore_diacritics.data)
        elif q.type == "matching":
            pairs = []
            for line in (self.pairs.data or "").splitlines():
                left, sep, right = line.partition("=>")
                if sep and clean_text(left) and clean_text(right):
                    pairs.append((clean_text(left), clean_text(right)))
            changes["pairs"] = tuple(pairs)
        return dataclasses.replace(q, **changes)


class VerifyForm(Form):
    file = FileField(
        _l("Certificate file (PDF)"), validators=[FileRequired(_l("Choose a file to upload."))]
    )
    submit = SubmitField(_l("Check"))
    too_large = _l("The file is larger than a certificate can be (5 MB).")


class RevokeForm(Form):
    reason = TextAreaField(
        _l("Reason"),
        validators=[
            DataRequired(REQUIRED),
            Length(max=500, message=_l("At most %(max)d characters.", max=500)),
        ],
    )
    submit = SubmitField(_l("Revoke"))


class ExportForm(Form):
    unit_id = SelectField(_l("Unit (with its sub-units)"), coerce=int, validators=[Optional()])
    cohort_id = SelectField(_l("Batch"), coerce=int, validators=[Optional()])
    submit = SubmitField(_l("Download as ZIP"))


REPORT_KINDS = {
    "half_year": _l("Six months"),
    "year": _l("A year"),
    "custom": _l("Other period"),
}


class ReportForm(Form):
    unit_id = SelectField(_l("Unit (with its sub-units)"), coerce=int)
    course_id = SelectField(_l("Course"), coerce=int)
    kind = SelectField(_l("Period"), choices=choices(REPORT_KINDS.items()), default="half_year")
    year = IntegerField(
        _l("Year"),
        validators=[
            Optional(),
            NumberRange(2000, 2100, message=_l("Give a year from 2000 to 2100.")),
        ],
    )
    half = SelectField(
        _l("Half of the year"),
        choices=choices([("1", _l("First six months")), ("2", _l("Last six months"))]),
        default="1",
    )
    start = DateField(_l("From"), validators=[Optional()], format="%Y-%m-%d")
    end = DateField(_l("To"), validators=[Optional()], format="%Y-%m-%d")
    submit = SubmitField(_l("Issue the report"))

    def validate_year(self, field) -> None:
        if self.kind.data in ("half_year", "year") and field.data is None:
            raise ValidationError(_l("Give the year of the report."))


class ImportForm(Form):
    file = FileField(
        _l("Account list (Excel .xlsx or CSV)"),
        validators=[FileRequired(_l("Choose a file to upload."))],
        description=_l(
            "Only the full name and the unit are required. Download the template "
            "to see the columns."
        ),
    )
    batch_name = StringField(
        _l("Batch"),
        validators=[
            Optional(),
            Length(max=120, message=_l("At most %(max)d characters.", max=120)),
        ],
        description=_l(
            "The accounts join this batch and its courses (it is created if new). "
            "A batch column in the file takes precedence."
        ),
    )
    strict = BooleanField(_l("Import nothing if any row has an error"), default=True)
    username_from = SelectField(
        _l("Usernames for rows without one"),
        choices=choices(
            [("name", _l("From the name (annv, annv2…)")), ("phone", _l("The phone number"))]
        ),
        default="name",
    )
    course_ids = CheckboxListField(
        _l("Courses of a new batch"),
        coerce=int,
        description=_l(
            "When the batch is new, its accounts are enrolled in these courses, with due dates "
            "from their issue dates. An existing batch keeps its own courses."
        ),
    )
    deadline_days = IntegerField(
        _l("Days to finish (new batch)"),
        validators=[
            Optional(),
            NumberRange(1, 365, message=_l("deadline_days must be a whole number from 1 to 365.")),
        ],
        description=_l("Leave empty to use each course's own number of days (usually 10)."),
    )
    update_existing = BooleanField(_l("Update accounts that already exist"), default=True)
    create_units = BooleanField(
        _l("Add the units of a path that do not exist yet"),
        description=_l(
            "Under units you manage; a site administrator may also add the top unit (the "
            "province federation of a new site, for example)."
        ),
    )
    submit = SubmitField(_l("Check the file"))


class ImportCommitForm(Form):
    """The import button of the check page (its settings are kept with the upload; the
    warnings ticked come as `accept`)."""

    accept = SelectMultipleField(choices=[], validate_choice=False)
    submit = SubmitField(_l("Import"))


class _BabelTranslations:
    """Route WTForms' own messages through Hocvu's catalog (WTForms ships no Vietnamese)."""

    # WTForms formats the result itself, so the catalog's raw text is returned.
    def gettext(self, string: str) -> str:
        return get_translations().gettext(string)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return get_translations().ngettext(singular, plural, n)


Form.Meta.get_translations = lambda self, form: _BabelTranslations()

# The WTForms built-in messages that Hocvu's fields can show, so that extraction puts them in
# the catalog.
WTFORMS_MESSAGES = (
    _l("Not a valid date value."),
    _l("Not a valid choice."),
    _l("Invalid Choice: could not coerce."),
    _l("This field is required."),
    _l("Invalid Choice(s): one or more data inputs could not be coerced."),
    _l("'%(value)s' is not a valid choice for this field."),
    _l("Not a valid integer value."),
)


COMPLETION_LABELS = {
    "completed": _l("completed"),
    "incomplete": _l("incomplete"),
    "not attempted": _l("not attempted"),
    "unknown": _l("unknown"),
}
SUCCESS_LABELS = {"passed": _l("passed"), "failed": _l("failed"), "unknown": _l("unknown")}


class ScoOverrideForm(Form):
    """An admin's correction of a SCO's statuses."""

    completion = SelectField(
        _l("Completion"),
        choices=choices([("", _l("(as the lesson reported)")), *COMPLETION_LABELS.items()]),
        validators=[Optional()],
    )
    success = SelectField(
        _l("Result"),
        choices=choices([("", _l("(as the lesson reported)")), *SUCCESS_LABELS.items()]),
        validators=[Optional()],
    )
    reason = TextAreaField(
        _l("Reason"),
        validators=[DataRequired(_l("Give a reason for the change.")), Length(max=500)],
        filters=[_nfc_strip],
        description=_l("Kept in the audit log with your name."),
    )
    submit = SubmitField(_l("Save the correction"))
