"""The union-unit tree of the admin's scope: list, create, edit, move, delete."""

from __future__ import annotations

from flask import (
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext

from lms.app.extensions import db
from lms.services import (
    organisation,
    units,
)
from lms.services.errors import DomainError, Forbidden
from lms.web.admin.base import (
    admin_required,
    bp,
    me,
    scope,
    unit_choices,
    unit_or_404,
)
from lms.web.common import message_of
from lms.web.forms import (
    UNIT_KIND_LABELS,
    ActionForm,
    MoveUnitForm,
    UnitForm,
    choices,
)


@bp.route("/units")
@admin_required
def units_index():
    """The unit tree of the scope, with counts and actions."""
    rows = units.unit_tree(db.session, scope())
    return render_template(
        "hocvu/admin/units.html",
        rows=rows,
        scope=scope(),
        kind_labels=UNIT_KIND_LABELS,
        action_form=ActionForm(),
    )


@bp.route("/units/new", methods=["GET", "POST"])
@admin_required
def unit_new():
    """Add a unit under ?parent=<id> (a top-level unit without it, site admins only)."""
    parent_id = request.args.get("parent", type=int)
    parent = unit_or_404(parent_id) if parent_id else None
    if parent is None and not scope().everything:
        abort(403)
    form = UnitForm()
    del form.certificate_issuer  # set on the unit's edit page, once it exists
    if form.validate_on_submit():
        try:
            unit = units.create_unit(
                db.session,
                me(),
                parent=parent,
                code=form.code.data,
                name=form.name.data,
                kind=form.kind.data,
            )
        except DomainError as error:
            db.session.rollback()
            form.add_error(error.field, message_of(error))
        else:
            db.session.commit()
            flash(gettext("Unit %(name)s added.", name=unit.name), "success")
            return redirect(url_for("admin.units_index", _anchor=f"unit-{unit.id}"))
    return render_template("hocvu/admin/unit_form.html", form=form, parent=parent, unit=None)


@bp.route("/units/<int:unit_id>/edit", methods=["GET", "POST"])
@admin_required
def unit_edit(unit_id: int):
    """Rename a unit or change its code or kind (and, for a site admin, the issuing
    organisation its learners' certificates print)."""
    unit = unit_or_404(unit_id)
    if not scope().can_edit_unit(unit):
        abort(403)
    form = UnitForm(obj=unit)
    if not scope().everything:
        del form.certificate_issuer  # what certificates print is the site admins' to decide
    if form.validate_on_submit():
        try:
            units.update_unit(
                db.session,
                me(),
                unit,
                code=form.code.data,
                name=form.name.data,
                kind=form.kind.data,
            )
            if form.certificate_issuer is not None:
                organisation.set_unit_issuer(db.session, me(), unit, form.certificate_issuer.data)
        except DomainError as error:
            db.session.rollback()
            unit = unit_or_404(unit_id)
            form.add_error(error.field, message_of(error))
        else:
            db.session.commit()
            flash(gettext("Unit %(name)s saved.", name=unit.name), "success")
            return redirect(url_for("admin.units_index", _anchor=f"unit-{unit.id}"))
    return render_template("hocvu/admin/unit_form.html", form=form, parent=unit.parent, unit=unit)


@bp.route("/units/<int:unit_id>/move", methods=["GET", "POST"])
@admin_required
def unit_move(unit_id: int):
    """Move a unit with its subtree under another unit."""
    unit = unit_or_404(unit_id)
    if not scope().can_edit_unit(unit):
        abort(403)
    form = MoveUnitForm(parent_id=unit.parent_id or 0)
    form.parent_id.choices = choices((i, label) for i, label in unit_choices() if i != unit.id)
    if form.validate_on_submit():
        target = unit_or_404(form.parent_id.data)
        try:
            units.move_unit(db.session, me(), unit, target)
        except DomainError as error:
            db.session.rollback()
            unit = unit_or_404(unit_id)
            form.add_error(error.field or "parent_id", message_of(error))
        else:
            db.session.commit()
            flash(gettext("Unit %(name)s moved.", name=unit.name), "success")
            return redirect(url_for("admin.units_index", _anchor=f"unit-{unit.id}"))
    return render_template("hocvu/admin/unit_move.html", form=form, unit=unit)


@bp.route("/units/<int:unit_id>/delete", methods=["POST"])
@admin_required
def unit_delete(unit_id: int):
    """Delete an empty unit."""
    unit = unit_or_404(unit_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    name = unit.name
    try:
        units.delete_unit(db.session, me(), unit)
    except Forbidden:
        abort(403)
    except DomainError as error:
        db.session.rollback()
        flash(message_of(error), "error")
    else:
        db.session.commit()
        flash(gettext("Unit %(name)s deleted.", name=name), "success")
    return redirect(url_for("admin.units_index"))
